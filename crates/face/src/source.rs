//! Where frames come from: the [`FrameSource`] trait, recorded frames played back (image files
//! or raw MJPEG/YUYV camera buffers through nokhwa's own decoder), and a still photo for the
//! "choose a photo" fallback on devices without a camera.

use std::path::{Path, PathBuf};

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{FrameFormat, Resolution};

use crate::frame::Frame;

/// Why no frame came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// The device has no camera.
    #[error("no camera was found on this device")]
    NoCamera,
    /// Another program is using the camera.
    #[error("the camera is in use by another program")]
    CameraBusy,
    /// The OS refused access to the camera.
    #[error("permission to use the camera was denied")]
    PermissionDenied,
    /// The camera stopped delivering frames (unplugged, driver error).
    #[error("the camera stopped: {0}")]
    Disconnected(String),
    /// A recording has no more frames.
    #[error("no more frames")]
    EndOfStream,
    /// A frame could not be decoded; `what` names it (a file, a buffer number).
    #[error("{what}: {reason}")]
    Decode {
        /// The file or buffer.
        what: String,
        /// Why.
        reason: String,
    },
}

/// A source of RGB frames.
pub trait FrameSource {
    /// The next frame, waiting for it if the source is live.
    fn next_frame(&mut self) -> Result<Frame, CaptureError>;
}

/// Raw camera buffers, as a camera delivers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawFormat {
    /// Motion JPEG.
    Mjpeg,
    /// YUYV 4:2:2.
    Yuyv,
}

enum Recorded {
    File(PathBuf),
    Encoded(Vec<u8>),
    Raw {
        bytes: Vec<u8>,
        width: u32,
        height: u32,
        format: RawFormat,
    },
}

/// Plays recorded frames back in order, then reports [`CaptureError::EndOfStream`].
pub struct ReplaySource {
    frames: Vec<Recorded>,
    next: usize,
}

impl std::fmt::Debug for ReplaySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ReplaySource({} frames, at {})",
            self.frames.len(),
            self.next
        )
    }
}

const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// The JPEG/PNG files of `dir`, in name order (an error if there are none).
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>, CaptureError> {
    let unreadable = |e: std::io::Error| CaptureError::Decode {
        what: dir.display().to_string(),
        reason: e.to_string(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CaptureError::Decode {
            what: dir.display().to_string(),
            reason: "no .jpg or .png frames in this folder".into(),
        });
    }
    Ok(files)
}

impl ReplaySource {
    /// The JPEG/PNG files of `dir`, in name order.
    pub fn from_dir(dir: &Path) -> Result<ReplaySource, CaptureError> {
        Ok(ReplaySource::from_files(image_files(dir)?))
    }

    /// The given image files, in this order.
    pub fn from_files(files: Vec<PathBuf>) -> ReplaySource {
        ReplaySource {
            frames: files.into_iter().map(Recorded::File).collect(),
            next: 0,
        }
    }

    /// Raw camera buffers of one format and size.
    pub fn from_raw(
        buffers: Vec<Vec<u8>>,
        width: u32,
        height: u32,
        format: RawFormat,
    ) -> ReplaySource {
        ReplaySource {
            frames: buffers
                .into_iter()
                .map(|bytes| Recorded::Raw {
                    bytes,
                    width,
                    height,
                    format,
                })
                .collect(),
            next: 0,
        }
    }

    /// Frames received as JPEG or PNG bytes (e.g. uploaded to the issuer), decoded one at a
    /// time as they are played so a long answer never sits decoded in memory at once.
    pub fn from_encoded(frames: Vec<Vec<u8>>) -> ReplaySource {
        ReplaySource {
            frames: frames.into_iter().map(Recorded::Encoded).collect(),
            next: 0,
        }
    }

    /// Frames not played yet.
    pub fn remaining(&self) -> usize {
        self.frames.len() - self.next
    }
}

impl FrameSource for ReplaySource {
    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        let Some(frame) = self.frames.get(self.next) else {
            return Err(CaptureError::EndOfStream);
        };
        self.next += 1;
        match frame {
            Recorded::File(path) => load_image_file(path),
            Recorded::Encoded(bytes) => {
                decode_image_bytes(bytes).map_err(|reason| CaptureError::Decode {
                    what: format!("frame {}", self.next - 1),
                    reason,
                })
            }
            Recorded::Raw {
                bytes,
                width,
                height,
                format,
            } => decode_raw(bytes, *width, *height, *format, self.next - 1),
        }
    }
}

/// Decodes a raw camera buffer with nokhwa's decoder (the same path live frames take).
pub fn decode_raw(
    bytes: &[u8],
    width: u32,
    height: u32,
    format: RawFormat,
    index: usize,
) -> Result<Frame, CaptureError> {
    let fmt = match format {
        RawFormat::Mjpeg => FrameFormat::MJPEG,
        RawFormat::Yuyv => FrameFormat::YUYV,
    };
    let what = || format!("frame {index} ({format:?} {width}x{height})");
    if format == RawFormat::Yuyv && bytes.len() as u64 != u64::from(width) * u64::from(height) * 2 {
        return Err(CaptureError::Decode {
            what: what(),
            reason: format!("{} bytes, expected width × height × 2", bytes.len()),
        });
    }
    let buffer = nokhwa::Buffer::new(Resolution::new(width, height), bytes, fmt);
    // The MJPEG decoder is C code behind nokhwa; a corrupt buffer must be an error, never a
    // crash of the app, so a panic inside it is turned into one.
    let decoded = std::panic::catch_unwind(|| buffer.decode_image::<RgbFormat>())
        .map_err(|_| CaptureError::Decode {
            what: what(),
            reason: "the decoder failed on this buffer".into(),
        })?
        .map_err(|e| CaptureError::Decode {
            what: what(),
            reason: e.to_string(),
        })?;
    let frame = Frame::from_rgb_image(decoded);
    if frame.width != width || frame.height != height {
        return Err(CaptureError::Decode {
            what: what(),
            reason: format!("decoded to {}x{}", frame.width, frame.height),
        });
    }
    Ok(frame)
}

/// The largest photo accepted (a phone photo is ~12 MP).
pub const MAX_PHOTO_PIXELS: u64 = 40_000_000;

/// Why encoded frames are refused before any pixel is decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodedFramesError {
    /// Too few or too many frames.
    #[error("send between {min} and {max} frames; {sent} were sent")]
    Count {
        /// Fewest accepted.
        min: usize,
        /// Most accepted.
        max: usize,
        /// Sent.
        sent: usize,
    },
    /// One frame is not a usable picture.
    #[error("frame {index} {why}")]
    Unusable {
        /// Which (from 0).
        index: usize,
        /// What is wrong with it.
        why: String,
    },
    /// One frame is too small or too large.
    #[error("frame {index} is {width}×{height}; frames must be 64 to {max_side} pixels per side")]
    WrongSize {
        /// Which (from 0).
        index: usize,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The largest side accepted.
        max_side: u32,
    },
    /// The frames together are too many pixels.
    #[error(
        "the frames add up to {:.1} megapixels; at most {:.1} are accepted: send fewer or smaller frames",
        *pixels as f64 / 1e6,
        *max as f64 / 1e6
    )]
    TooManyPixels {
        /// Sent.
        pixels: u64,
        /// Accepted.
        max: u64,
    },
}

/// Checks encoded frames without decoding their pixels: the count, that each is a JPEG or
/// PNG of 64 to `max_side` pixels per side, and the pixels of them all (which are decoded
/// at once: a few small, highly compressed pictures of huge size must not cost a server
/// gigabytes).
pub fn check_encoded_frames(
    frames: &[Vec<u8>],
    count: std::ops::RangeInclusive<usize>,
    max_side: u32,
    max_pixels: u64,
) -> Result<(), EncodedFramesError> {
    if !count.contains(&frames.len()) {
        return Err(EncodedFramesError::Count {
            min: *count.start(),
            max: *count.end(),
            sent: frames.len(),
        });
    }
    let unusable = |index: usize, why: &str| EncodedFramesError::Unusable {
        index,
        why: why.to_owned(),
    };
    let mut pixels = 0u64;
    for (n, bytes) in frames.iter().enumerate() {
        let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|_| unusable(n, "cannot be read"))?;
        if !matches!(
            reader.format(),
            Some(image::ImageFormat::Jpeg | image::ImageFormat::Png)
        ) {
            return Err(unusable(n, "is not a JPEG or PNG image"));
        }
        let (w, h) = reader
            .into_dimensions()
            .map_err(|_| unusable(n, "is not a readable JPEG or PNG image"))?;
        if w > max_side || h > max_side || w < 64 || h < 64 {
            return Err(EncodedFramesError::WrongSize {
                index: n,
                width: w,
                height: h,
                max_side,
            });
        }
        pixels += u64::from(w) * u64::from(h);
    }
    if pixels > max_pixels {
        return Err(EncodedFramesError::TooManyPixels {
            pixels,
            max: max_pixels,
        });
    }
    Ok(())
}

/// Loads a JPEG or PNG file as a frame.
pub fn load_image_file(path: &Path) -> Result<Frame, CaptureError> {
    let bytes = std::fs::read(path).map_err(|e| CaptureError::Decode {
        what: path.display().to_string(),
        reason: e.to_string(),
    })?;
    decode_image_bytes(&bytes).map_err(|reason| CaptureError::Decode {
        what: path.display().to_string(),
        reason,
    })
}

/// Decodes JPEG or PNG bytes as a frame, refusing huge images before decoding.
pub fn decode_image_bytes(bytes: &[u8]) -> Result<Frame, String> {
    let format = image::guess_format(bytes).map_err(|_| "not a JPEG or PNG image".to_owned())?;
    if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png) {
        return Err(format!(
            "{format:?} images are not supported: use JPEG or PNG"
        ));
    }
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PHOTO_PIXELS * 4);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| format!("cannot decode the image: {e}"))?;
    if u64::from(img.width()) * u64::from(img.height()) > MAX_PHOTO_PIXELS {
        return Err("the image is larger than 40 megapixels".into());
    }
    Ok(Frame::from_rgb_image(img.to_rgb8()))
}

/// One photo, served as every frame: the "choose a photo" fallback (never enough for
/// liveness, which needs motion).
#[derive(Debug, Clone)]
pub struct StillPhotoSource {
    frame: Frame,
}

impl StillPhotoSource {
    /// From a JPEG or PNG file.
    pub fn open(path: &Path) -> Result<StillPhotoSource, CaptureError> {
        Ok(StillPhotoSource {
            frame: load_image_file(path)?,
        })
    }

    /// From a decoded frame.
    pub fn new(frame: Frame) -> StillPhotoSource {
        StillPhotoSource { frame }
    }
}

impl FrameSource for StillPhotoSource {
    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        Ok(self.frame.clone())
    }
}
