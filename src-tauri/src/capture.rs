//! Capturing the frames that answer a liveness challenge, while the person watches: each
//! frame goes to the UI as a small JPEG preview with the quality gates' guidance, over a
//! Tauri channel. Frames stay in memory; they go to the wallet (and, for enrolment and
//! renewal, to the issuer) and are dropped afterwards. Nothing is written to disk.

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use tauri::ipc::Channel;
use tessera_face::analysis::FaceAnalyzer;
use tessera_face::frame::Frame;
use tessera_face::quality::Guidance;
use tessera_face::source::CaptureError;
use tessera_wallet::wallet::{Capture, WalletError};

/// Where frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FramesMode {
    /// The device camera.
    Camera,
    /// The built-in demo recording (demo use only; the UI says so).
    DemoRecording,
    /// One chosen photo, for every action (demo use only: a still picture shows the
    /// capture guidance, and the liveness check refuses it, as it must).
    Photo,
    /// Nothing: no camera was found and the demo recording was not chosen.
    None,
}

/// What the UI sees during a capture (`CaptureEvent` in `ui/src/api.ts`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CaptureEvent {
    /// The actions to do, in order.
    Challenge {
        /// Issuer names: front, left, right, blink.
        actions: Vec<String>,
    },
    /// Action `step` is asked now.
    Step {
        /// 0-based.
        step: usize,
        /// Its name.
        action: String,
        /// Actions finished.
        done: usize,
        /// Actions in all.
        total: usize,
    },
    /// A preview.
    Frame {
        /// Base64 JPEG, about 320 px wide.
        jpeg: String,
        /// The action being answered.
        step: usize,
        /// What to fix, most important first; empty when the picture is good.
        guidance: Vec<Guidance>,
    },
    /// Capture finished; the wallet checks the answer.
    Checking,
}

/// How long each action is filmed with a live camera, and how many frames are kept from it.
const CAMERA_SECONDS_PER_ACTION: Duration = Duration::from_millis(2500);
const CAMERA_FRAMES_PER_ACTION: usize = 8;
/// A chosen photo stands in for this many frames per action, shown this long each.
const PHOTO_FRAMES_PER_ACTION: usize = 3;
const PHOTO_FRAME_PACE: Duration = Duration::from_millis(150);
/// How long each recorded frame is shown, so the person can follow the demo.
#[cfg(feature = "demo")]
const DEMO_FRAME_PACE: Duration = Duration::from_millis(180);

/// A capture for one wallet operation.
pub struct AppCapture {
    /// Where frames come from.
    pub mode: FramesMode,
    /// Where previews and progress go.
    pub channel: Channel<CaptureEvent>,
    /// For the quality guidance on previews.
    pub faces: Arc<FaceAnalyzer>,
    /// Set by the `cancel_capture` command.
    pub cancel: Arc<AtomicBool>,
    /// The chosen photo (JPEG or PNG) in `Photo` mode.
    pub photo: Option<Arc<Vec<u8>>>,
}

impl std::fmt::Debug for AppCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCapture")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl AppCapture {
    fn send(&self, event: CaptureEvent) {
        // The window may have gone away; the capture itself does not depend on the preview.
        let _ = self.channel.send(event);
    }

    fn check_cancel(&self) -> Result<(), WalletError> {
        if self.cancel.load(Ordering::SeqCst) {
            Err(WalletError::Cancelled)
        } else {
            Ok(())
        }
    }

    fn preview(&self, frame: &Frame, step: usize) {
        let guidance = match self.faces.quality(frame) {
            Ok((_, q)) => q.guidance,
            Err(_) => vec![Guidance::NoFace],
        };
        if let Some(jpeg) = small_jpeg(frame) {
            self.send(CaptureEvent::Frame {
                jpeg: STANDARD.encode(jpeg),
                step,
                guidance,
            });
        }
    }

    fn step(&self, step: usize, action: &str, total: usize) {
        self.send(CaptureEvent::Step {
            step,
            action: action.to_owned(),
            done: step,
            total,
        });
    }

    #[cfg(feature = "demo")]
    fn demo(&self, actions: &[String]) -> Result<Vec<Vec<u8>>, WalletError> {
        use crate::demo;
        let mut out = Vec::new();
        for (i, action) in actions.iter().enumerate() {
            self.step(i, action, actions.len());
            let frames = demo::recording(action);
            if frames.is_empty() {
                return Err(WalletError::Frames(format!(
                    "the demo recording has no frames for the action {action:?}"
                )));
            }
            for bytes in frames {
                self.check_cancel()?;
                let frame =
                    tessera_face::source::decode_image_bytes(bytes).map_err(WalletError::Frames)?;
                self.preview(&frame, i);
                out.push(bytes.to_vec());
                std::thread::sleep(DEMO_FRAME_PACE);
            }
        }
        Ok(out)
    }

    #[cfg(not(feature = "demo"))]
    fn demo(&self, _actions: &[String]) -> Result<Vec<Vec<u8>>, WalletError> {
        Err(CaptureError::NoCamera.into())
    }

    fn photo(&self, actions: &[String]) -> Result<Vec<Vec<u8>>, WalletError> {
        let bytes = self.photo.clone().ok_or(CaptureError::NoCamera)?;
        let frame =
            tessera_face::source::decode_image_bytes(&bytes).map_err(WalletError::Frames)?;
        let mut out = Vec::new();
        for (i, action) in actions.iter().enumerate() {
            self.step(i, action, actions.len());
            for _ in 0..PHOTO_FRAMES_PER_ACTION {
                self.check_cancel()?;
                self.preview(&frame, i);
                out.push(bytes.to_vec());
                std::thread::sleep(PHOTO_FRAME_PACE);
            }
        }
        Ok(out)
    }

    #[cfg(feature = "camera")]
    fn camera(&self, actions: &[String]) -> Result<Vec<Vec<u8>>, WalletError> {
        use tessera_face::camera::CameraSource;
        use tessera_face::source::FrameSource as _;
        let mut camera = CameraSource::open(0)?;
        let mut out = Vec::new();
        for (i, action) in actions.iter().enumerate() {
            self.step(i, action, actions.len());
            let started = Instant::now();
            let keep_every = CAMERA_SECONDS_PER_ACTION / CAMERA_FRAMES_PER_ACTION as u32;
            let mut last_kept: Option<Instant> = None;
            while started.elapsed() < CAMERA_SECONDS_PER_ACTION {
                self.check_cancel()?;
                let frame = camera.next_frame()?;
                self.preview(&frame, i);
                if last_kept.is_none_or(|t| t.elapsed() >= keep_every) {
                    last_kept = Some(Instant::now());
                    out.push(full_jpeg(&frame).ok_or_else(|| {
                        WalletError::Frames("a camera frame could not be encoded".into())
                    })?);
                }
            }
        }
        Ok(out)
    }

    #[cfg(not(feature = "camera"))]
    fn camera(&self, _actions: &[String]) -> Result<Vec<Vec<u8>>, WalletError> {
        Err(CaptureError::NoCamera.into())
    }
}

impl Capture for AppCapture {
    fn answer(&mut self, actions: &[String]) -> Result<Vec<Vec<u8>>, WalletError> {
        self.send(CaptureEvent::Challenge {
            actions: actions.to_vec(),
        });
        // Capture blocks (camera reads, pacing); let the async runtime move other tasks
        // (the embedded issuer among them) off this worker meanwhile.
        let frames = tokio::task::block_in_place(|| match self.mode {
            FramesMode::Camera => self.camera(actions),
            FramesMode::DemoRecording => self.demo(actions),
            FramesMode::Photo => self.photo(actions),
            FramesMode::None => Err(CaptureError::NoCamera.into()),
        })?;
        self.send(CaptureEvent::Checking);
        Ok(frames)
    }
}

fn encode_jpeg(image: &image::RgbImage, quality: u8) -> Option<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .ok()?;
    Some(out.into_inner())
}

fn rgb_image(frame: &Frame) -> Option<image::RgbImage> {
    image::RgbImage::from_raw(frame.width, frame.height, frame.rgb.clone())
}

/// A preview: about 320 px wide, enough for the guide on screen, cheap to send every frame.
pub fn small_jpeg(frame: &Frame) -> Option<Vec<u8>> {
    let image = rgb_image(frame)?;
    let width = 320.min(frame.width).max(1);
    let height = (u64::from(frame.height) * u64::from(width) / u64::from(frame.width.max(1)))
        .clamp(1, u64::from(u32::MAX)) as u32;
    let small = image::imageops::thumbnail(&image, width, height);
    encode_jpeg(&small, 70)
}

/// A frame as it goes to the issuer: full size, high quality.
#[cfg_attr(not(feature = "camera"), allow(dead_code))]
fn full_jpeg(frame: &Frame) -> Option<Vec<u8>> {
    encode_jpeg(&rgb_image(frame)?, 90)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_face::source::decode_image_bytes;

    #[cfg(feature = "demo")]
    #[test]
    fn previews_are_small_jpegs_of_the_frame() {
        let frame = decode_image_bytes(crate::demo::recording("front")[0]).expect("decodes");
        let jpeg = small_jpeg(&frame).expect("encodes");
        let back = decode_image_bytes(&jpeg).expect("a JPEG");
        assert_eq!(back.width, 320);
        assert_eq!(back.height, frame.height * 320 / frame.width);
        assert!(jpeg.len() < 40_000, "{} bytes", jpeg.len());
    }

    fn recording_channel() -> (Channel<CaptureEvent>, Arc<std::sync::Mutex<Vec<String>>>) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let channel = Channel::new(move |body| {
            if let tauri::ipc::InvokeResponseBody::Json(json) = body {
                let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
                if let Ok(mut s) = sink.lock() {
                    s.push(v["event"].as_str().unwrap_or_default().to_owned());
                }
            }
            Ok(())
        });
        (channel, seen)
    }

    #[test]
    fn a_chosen_photo_stands_in_for_every_action_and_none_means_no_camera() {
        let faces = Arc::new(FaceAnalyzer::load().expect("models"));
        let photo = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crates/face/testdata/photos/astronaut.jpg"
        ))
        .expect("photo");
        let (channel, seen) = recording_channel();
        let mut capture = AppCapture {
            mode: FramesMode::Photo,
            channel,
            faces: faces.clone(),
            cancel: Arc::new(AtomicBool::new(false)),
            photo: Some(Arc::new(photo.clone())),
        };
        let actions = ["front".to_owned(), "blink".to_owned()];
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("runtime");
        let frames = rt
            .block_on(async { capture.answer(&actions) })
            .expect("frames");
        assert_eq!(frames.len(), 2 * PHOTO_FRAMES_PER_ACTION);
        assert!(frames.iter().all(|f| *f == photo));
        let events = seen.lock().expect("events").clone();
        assert_eq!(events.first().map(String::as_str), Some("challenge"));
        assert_eq!(events.last().map(String::as_str), Some("checking"));
        assert_eq!(
            events.iter().filter(|e| *e == "frame").count(),
            2 * PHOTO_FRAMES_PER_ACTION
        );

        let (channel, _) = recording_channel();
        let mut none = AppCapture {
            mode: FramesMode::None,
            channel,
            faces,
            cancel: Arc::new(AtomicBool::new(false)),
            photo: None,
        };
        let err = rt
            .block_on(async { none.answer(&actions) })
            .expect_err("no camera");
        assert!(
            matches!(err, WalletError::Camera(CaptureError::NoCamera)),
            "{err}"
        );
    }

    #[test]
    fn events_serialise_to_the_shapes_the_ui_reads() {
        let step = serde_json::to_value(CaptureEvent::Step {
            step: 1,
            action: "left".into(),
            done: 1,
            total: 4,
        })
        .expect("json");
        assert_eq!(
            step,
            serde_json::json!({"event": "step", "step": 1, "action": "left", "done": 1, "total": 4})
        );
        let frame = serde_json::to_value(CaptureEvent::Frame {
            jpeg: "AA==".into(),
            step: 0,
            guidance: vec![Guidance::TooDark],
        })
        .expect("json");
        assert_eq!(frame["guidance"], serde_json::json!(["too_dark"]));
        assert_eq!(
            serde_json::to_value(CaptureEvent::Checking).expect("json"),
            serde_json::json!({"event": "checking"})
        );
    }
}
