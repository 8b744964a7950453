//! Frames and face geometry shared by every stage.

use serde::Serialize;

/// One RGB frame (8 bits per channel, row-major, no padding).
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    // Never print pixels: they are biometric data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}x{})", self.width, self.height)
    }
}

impl Frame {
    /// Wraps an RGB image.
    pub fn from_rgb_image(img: image::RgbImage) -> Frame {
        Frame {
            width: img.width(),
            height: img.height(),
            rgb: img.into_raw(),
        }
    }

    /// As an RGB image (copies).
    pub fn to_rgb_image(&self) -> Option<image::RgbImage> {
        image::RgbImage::from_raw(self.width, self.height, self.rgb.clone())
    }

    /// The luma (BT.601) plane.
    pub fn luma(&self) -> Vec<u8> {
        self.rgb
            .chunks_exact(3)
            .map(|p| {
                ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000)
                    as u8
            })
            .collect()
    }
}

/// A point in frame pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Point {
    /// x, to the right.
    pub x: f32,
    /// y, downwards.
    pub y: f32,
}

/// A detected face: box, score and YuNet's five landmarks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Detector confidence, 0..1.
    pub score: f32,
    /// In YuNet's order: the person's right eye (image left), left eye, nose tip, right mouth
    /// corner, left mouth corner (un-mirrored frames).
    pub landmarks: [Point; 5],
}

impl Detection {
    /// Yaw proxy from the five points: the nose's offset from the eyes' midpoint, in units of
    /// the eye distance. Positive when the person turns to their own left (nose moves to
    /// image right, un-mirrored), negative to their right; about ±0.2–0.3 at 30°.
    pub fn yaw_proxy(&self) -> f32 {
        let [re, le, nose, _, _] = self.landmarks;
        let mid = (re.x + le.x) / 2.0;
        let dist = ((le.x - re.x).powi(2) + (le.y - re.y).powi(2))
            .sqrt()
            .max(1.0);
        (nose.x - mid) / dist
    }

    /// Roll in degrees: the angle of the line through the eyes.
    pub fn roll_degrees(&self) -> f32 {
        let [re, le, ..] = self.landmarks;
        (le.y - re.y).atan2(le.x - re.x).to_degrees()
    }
}
