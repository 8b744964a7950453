//! Draws QR text from standard input as an SVG document on standard output (used to make
//! the UI tests' fixture from a real test vector):
//! `cargo run -p tessera-qr --example svg < text > code.svg`

use std::io::Read;

fn main() {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("cannot read standard input: {e}");
        std::process::exit(2);
    }
    match tessera_qr::encode(text.trim()) {
        Ok(code) => print!("{}", code.to_svg(8)),
        Err(e) => {
            eprintln!("cannot draw a QR code: {e}");
            std::process::exit(2);
        }
    }
}
