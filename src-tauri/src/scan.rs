//! Scanning a sign-in QR code (the issuer's sign-in page shown on another device): camera
//! frames, previewed in the app, until one holds a `tessera://sign-in` link; or the photo
//! chosen for demo use when there is no camera. Frames stay in memory and are dropped as soon
//! as they are read.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tessera_face::frame::Frame;
use tessera_face::source::CaptureError;
use tessera_oidc::sign_in::SignInLink;
use tessera_wallet::wallet::WalletError;

use crate::capture::{AppCapture, CaptureEvent, FramesMode, small_jpeg};

/// How long the camera looks for a code before the app says it found none.
pub const SCAN_FOR: Duration = Duration::from_secs(60);

/// The sign-in link in `frame`'s QR code, if it holds one.
fn sign_in_link(frame: &Frame) -> Option<String> {
    let text = tessera_qr::decode_luma(frame.width, frame.height, frame.luma()).ok()?;
    SignInLink::parse(&text).is_ok().then_some(text)
}

fn none_found(what: &str) -> WalletError {
    WalletError::Frames(format!(
        "no Tessera sign-in QR code was found {what}: hold the code from the sign-in page steady in front of the camera, or paste the link"
    ))
}

/// Looks for a sign-in QR code with `capture`'s frame source.
pub fn scan_sign_in_link(capture: &AppCapture) -> Result<String, WalletError> {
    match capture.mode {
        FramesMode::Photo => {
            let bytes = capture.photo.clone().ok_or(CaptureError::NoCamera)?;
            let frame =
                tessera_face::source::decode_image_bytes(&bytes).map_err(WalletError::Frames)?;
            preview(capture, &frame);
            sign_in_link(&frame).ok_or_else(|| none_found("in the chosen photo"))
        }
        FramesMode::Camera => scan_camera(capture),
        FramesMode::DemoRecording | FramesMode::None => Err(CaptureError::NoCamera.into()),
    }
}

fn preview(capture: &AppCapture, frame: &Frame) {
    if let Some(jpeg) = small_jpeg(frame) {
        let _ = capture.channel.send(CaptureEvent::Frame {
            jpeg: STANDARD.encode(jpeg),
            step: 0,
            guidance: Vec::new(),
        });
    }
}

#[cfg(feature = "camera")]
fn scan_camera(capture: &AppCapture) -> Result<String, WalletError> {
    use std::sync::atomic::Ordering;
    use tessera_face::camera::CameraSource;
    use tessera_face::source::FrameSource as _;
    let mut camera = CameraSource::open(0)?;
    let started = Instant::now();
    while started.elapsed() < SCAN_FOR {
        if capture.cancel.load(Ordering::SeqCst) {
            return Err(WalletError::Cancelled);
        }
        let frame = camera.next_frame()?;
        preview(capture, &frame);
        if let Some(link) = sign_in_link(&frame) {
            return Ok(link);
        }
    }
    Err(none_found("within a minute"))
}

#[cfg(not(feature = "camera"))]
fn scan_camera(_capture: &AppCapture) -> Result<String, WalletError> {
    let _ = Instant::now();
    Err(CaptureError::NoCamera.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use tauri::ipc::{Channel, InvokeResponseBody};

    fn capture_of(photo: Vec<u8>) -> AppCapture {
        AppCapture {
            mode: FramesMode::Photo,
            channel: Channel::new(|_: InvokeResponseBody| Ok(())),
            faces: Arc::new(tessera_face::analysis::FaceAnalyzer::load().expect("models")),
            cancel: Arc::new(AtomicBool::new(false)),
            photo: Some(Arc::new(photo)),
        }
    }

    /// A PNG of a QR code holding `text`, as the sign-in page draws it (byte mode, with a
    /// quiet zone), 6 px a module.
    fn qr_png(text: &str) -> Vec<u8> {
        let code = qrcode::QrCode::new(text.as_bytes()).expect("encodes");
        let width = code.width() as u32;
        let colors = code.to_colors();
        let (scale, quiet) = (6, 4);
        let side = (width + 2 * quiet) * scale;
        let img = image::GrayImage::from_fn(side, side, |x, y| {
            let (mx, my) = (x / scale, y / scale);
            let inside =
                (quiet..quiet + width).contains(&mx) && (quiet..quiet + width).contains(&my);
            let dark = inside
                && colors[((my - quiet) * width + (mx - quiet)) as usize] == qrcode::Color::Dark;
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("PNG");
        png
    }

    #[test]
    fn a_photo_of_the_sign_in_pages_code_gives_its_link_and_other_codes_do_not() {
        let link = "tessera://sign-in?issuer=http%3A%2F%2F127.0.0.1%3A47143&request=0123456789abcdef0123456789abcdef";
        assert_eq!(
            scan_sign_in_link(&capture_of(qr_png(link))).expect("found"),
            link
        );
        // Any other code (a phishing page's, a Tessera ID code) is not a sign-in link.
        let other = qr_png("https://phish.example/sign-in");
        assert!(matches!(
            scan_sign_in_link(&capture_of(other)),
            Err(WalletError::Frames(_))
        ));
    }
}
