//! Regenerates docs/format/vectors: `cargo run -p tessera-vectors [-- OUT_DIR]`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/format/vectors")
        });
    std::fs::create_dir_all(&out)?;
    for file in tessera_vectors::generate::files()? {
        std::fs::write(out.join(&file.0), &file.1)?;
    }
    println!("wrote the vectors to {}", out.display());
    Ok(())
}
