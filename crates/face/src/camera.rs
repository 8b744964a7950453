//! The device camera through nokhwa's native backend (V4L2 on Linux, AVFoundation on macOS,
//! Media Foundation on Windows), with its failures turned into [`CaptureError`]s a person can
//! act on.

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{ApiBackend, CameraIndex, RequestedFormat, RequestedFormatType, Resolution};
use nokhwa::{Camera, NokhwaError};
use serde::Serialize;

use crate::frame::Frame;
use crate::source::{CaptureError, FrameSource};

/// A camera the OS reports.
#[derive(Debug, Clone, Serialize)]
pub struct CameraInfo {
    /// Index to open it with.
    pub index: u32,
    /// Human-readable name.
    pub name: String,
    /// Backend description.
    pub description: String,
}

/// The cameras of this device (an empty list when there are none).
pub fn list_cameras() -> Result<Vec<CameraInfo>, CaptureError> {
    let cams = nokhwa::query(ApiBackend::Auto).map_err(classify)?;
    Ok(cams
        .into_iter()
        .enumerate()
        .map(|(i, c)| CameraInfo {
            index: c.index().as_index().unwrap_or(i as u32),
            name: c.human_name(),
            description: c.description().to_owned(),
        })
        .collect())
}

/// An open camera streaming frames.
pub struct CameraSource {
    camera: Camera,
}

impl std::fmt::Debug for CameraSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CameraSource({})", self.camera.info().human_name())
    }
}

impl CameraSource {
    /// Opens camera `index` at the resolution closest to 1280×720 (falling back to what the
    /// camera offers; MJPEG or YUYV are decoded the same way) and starts streaming.
    pub fn open(index: u32) -> Result<CameraSource, CaptureError> {
        if list_cameras()?.is_empty() {
            return Err(CaptureError::NoCamera);
        }
        let request = RequestedFormat::new::<RgbFormat>(RequestedFormatType::HighestResolution(
            Resolution::new(1280, 720),
        ));
        let mut camera = Camera::new(CameraIndex::Index(index), request).map_err(classify)?;
        camera.open_stream().map_err(classify)?;
        Ok(CameraSource { camera })
    }
}

impl FrameSource for CameraSource {
    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        let buffer = self.camera.frame().map_err(classify)?;
        let rgb = buffer
            .decode_image::<RgbFormat>()
            .map_err(|e| CaptureError::Decode {
                what: "camera frame".into(),
                reason: e.to_string(),
            })?;
        Ok(Frame::from_rgb_image(rgb))
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        let _ = self.camera.stop_stream();
    }
}

/// Maps nokhwa's errors (mostly strings from the OS) to what a person can act on.
pub fn classify(error: NokhwaError) -> CaptureError {
    classify_message(&error.to_string())
}

/// The classification of an error message, separated for testing.
pub fn classify_message(message: &str) -> CaptureError {
    let m = message.to_ascii_lowercase();
    if m.contains("no such file")
        || m.contains("no device")
        || m.contains("not found")
        || m.contains("no camera")
    {
        CaptureError::NoCamera
    } else if m.contains("busy") || m.contains("in use") {
        CaptureError::CameraBusy
    } else if m.contains("permission") || m.contains("denied") || m.contains("not authorized") {
        CaptureError::PermissionDenied
    } else {
        CaptureError::Disconnected(message.to_owned())
    }
}
