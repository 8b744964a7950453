//! Quality gates for capture: exactly one face, big enough but not too close, centred, well
//! lit, sharp, facing the camera. Each problem is a [`Guidance`] code the UI turns into words.

use serde::Serialize;

use crate::frame::{Detection, Frame};

/// What the person should do, most important first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Guidance {
    /// No face found: look at the camera.
    NoFace,
    /// More than one face: only the holder may be in the picture.
    MultipleFaces,
    /// The face is too small: come closer.
    TooFar,
    /// The face fills the frame: move back.
    TooClose,
    /// Move the face to the centre of the guide.
    OffCentre,
    /// Too dark: find more light.
    TooDark,
    /// Too bright: avoid direct light behind or on the face.
    TooBright,
    /// Blurry: hold still, clean the lens.
    Blurry,
    /// The head is turned or tilted: face the camera.
    TurnedAway,
}

/// The limits of each gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Smallest face height, as a fraction of the frame height.
    pub min_face_height: f32,
    /// Largest face height, as a fraction of the frame height.
    pub max_face_height: f32,
    /// Largest distance of the face centre from the frame centre, as a fraction of the frame.
    pub max_centre_offset: f32,
    /// Darkest acceptable mean luma of the face (0..255).
    pub min_brightness: f32,
    /// Brightest acceptable mean luma of the face.
    pub max_brightness: f32,
    /// Lowest acceptable sharpness (variance of the Laplacian over the face).
    pub min_sharpness: f32,
    /// Largest |yaw proxy| for a frontal face.
    pub max_yaw: f32,
    /// Largest |roll| in degrees.
    pub max_roll: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_face_height: 0.25,
            max_face_height: 0.85,
            max_centre_offset: 0.2,
            min_brightness: 50.0,
            max_brightness: 215.0,
            min_sharpness: 20.0,
            max_yaw: 0.12,
            max_roll: 15.0,
        }
    }
}

/// The measurements behind the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Measures {
    /// Face height / frame height.
    pub face_height: f32,
    /// Face centre's distance from the frame centre, in frame fractions.
    pub centre_offset: f32,
    /// Mean luma of the face box.
    pub brightness: f32,
    /// Variance of the Laplacian of the face box's luma.
    pub sharpness: f32,
    /// Yaw proxy (see [`Detection::yaw_proxy`]).
    pub yaw: f32,
    /// Roll in degrees.
    pub roll: f32,
}

/// The quality verdict of one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    /// Everything to fix, most important first; empty when the frame is good.
    pub guidance: Vec<Guidance>,
    /// How many faces were found.
    pub faces: usize,
    /// The measurements of the single face, when there is exactly one.
    pub measures: Option<Measures>,
}

impl Quality {
    /// True if the frame passes every gate.
    pub fn is_good(&self) -> bool {
        self.guidance.is_empty()
    }
}

/// Judges a frame and its detections.
pub fn assess(frame: &Frame, detections: &[Detection], t: &Thresholds) -> Quality {
    let face = match detections {
        [] => return verdict(vec![Guidance::NoFace], 0, None),
        [one] => one,
        many => return verdict(vec![Guidance::MultipleFaces], many.len(), None),
    };
    let (fw, fh) = (frame.width.max(1) as f32, frame.height.max(1) as f32);
    let cx = (face.x + face.width / 2.0) / fw - 0.5;
    let cy = (face.y + face.height / 2.0) / fh - 0.5;
    let (brightness, sharpness) = luma_stats(frame, face);
    let m = Measures {
        face_height: face.height / fh,
        centre_offset: (cx * cx + cy * cy).sqrt(),
        brightness,
        sharpness,
        yaw: face.yaw_proxy(),
        roll: face.roll_degrees(),
    };
    let mut g = Vec::new();
    if m.face_height < t.min_face_height {
        g.push(Guidance::TooFar);
    }
    if m.face_height > t.max_face_height {
        g.push(Guidance::TooClose);
    }
    if m.centre_offset > t.max_centre_offset {
        g.push(Guidance::OffCentre);
    }
    if m.brightness < t.min_brightness {
        g.push(Guidance::TooDark);
    }
    if m.brightness > t.max_brightness {
        g.push(Guidance::TooBright);
    }
    if m.sharpness < t.min_sharpness {
        g.push(Guidance::Blurry);
    }
    if m.yaw.abs() > t.max_yaw || m.roll.abs() > t.max_roll {
        g.push(Guidance::TurnedAway);
    }
    verdict(g, 1, Some(m))
}

fn verdict(guidance: Vec<Guidance>, faces: usize, measures: Option<Measures>) -> Quality {
    Quality {
        guidance,
        faces,
        measures,
    }
}

/// Mean luma and variance of the 4-neighbour Laplacian over the face box (clipped to the
/// frame).
fn luma_stats(frame: &Frame, face: &Detection) -> (f32, f32) {
    let (w, h) = (frame.width as usize, frame.height as usize);
    if frame.rgb.len() != w * h * 3 || w < 3 || h < 3 {
        return (0.0, 0.0);
    }
    let clip = |v: f32, max: usize| (v.max(0.0) as usize).min(max);
    let (x0, x1) = (clip(face.x, w - 1).max(1), clip(face.x + face.width, w - 1));
    let (y0, y1) = (
        clip(face.y, h - 1).max(1),
        clip(face.y + face.height, h - 1),
    );
    if x1 <= x0 + 1 || y1 <= y0 + 1 {
        return (0.0, 0.0);
    }
    let luma = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        let p = &frame.rgb[i..i + 3];
        0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
    };
    let (mut sum, mut n) = (0f64, 0f64);
    let (mut lap_sum, mut lap_sq) = (0f64, 0f64);
    for y in y0..y1 {
        for x in x0..x1 {
            let c = luma(x, y);
            sum += f64::from(c);
            n += 1.0;
            let lap = f64::from(
                luma(x - 1, y) + luma(x + 1, y) + luma(x, y - 1) + luma(x, y + 1) - 4.0 * c,
            );
            lap_sum += lap;
            lap_sq += lap * lap;
        }
    }
    let mean_lap = lap_sum / n;
    ((sum / n) as f32, (lap_sq / n - mean_lap * mean_lap) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Point;

    fn frame_with(f: impl Fn(u32, u32) -> u8) -> Frame {
        let img = image::RgbImage::from_fn(640, 480, |x, y| {
            let v = f(x, y);
            image::Rgb([v, v, v])
        });
        Frame::from_rgb_image(img)
    }

    fn face(x: f32, y: f32, size: f32) -> Detection {
        let p = |dx: f32, dy: f32| Point {
            x: x + dx * size,
            y: y + dy * size,
        };
        Detection {
            x,
            y,
            width: size,
            height: size,
            score: 0.9,
            landmarks: [
                p(0.3, 0.4),
                p(0.7, 0.4),
                p(0.5, 0.6),
                p(0.35, 0.8),
                p(0.65, 0.8),
            ],
        }
    }

    fn checker(x: u32, y: u32) -> u8 {
        if (x / 4 + y / 4).is_multiple_of(2) {
            70
        } else {
            170
        }
    }

    #[test]
    fn a_centred_sharp_well_lit_face_is_good() {
        let q = assess(
            &frame_with(checker),
            &[face(220.0, 140.0, 200.0)],
            &Thresholds::default(),
        );
        assert!(q.is_good(), "{q:?}");
    }

    #[test]
    fn each_gate_speaks() {
        let t = Thresholds::default();
        let good = frame_with(checker);
        assert_eq!(assess(&good, &[], &t).guidance, [Guidance::NoFace]);
        let two = [face(50.0, 50.0, 150.0), face(400.0, 50.0, 150.0)];
        assert_eq!(assess(&good, &two, &t).guidance, [Guidance::MultipleFaces]);
        assert!(
            assess(&good, &[face(300.0, 220.0, 60.0)], &t)
                .guidance
                .contains(&Guidance::TooFar)
        );
        assert!(
            assess(&good, &[face(100.0, 0.0, 470.0)], &t)
                .guidance
                .contains(&Guidance::TooClose)
        );
        assert!(
            assess(&good, &[face(0.0, 0.0, 200.0)], &t)
                .guidance
                .contains(&Guidance::OffCentre)
        );
        let dark = frame_with(|x, y| checker(x, y) / 5);
        assert!(
            assess(&dark, &[face(220.0, 140.0, 200.0)], &t)
                .guidance
                .contains(&Guidance::TooDark)
        );
        let bright = frame_with(|x, y| checker(x, y) / 4 + 200);
        assert!(
            assess(&bright, &[face(220.0, 140.0, 200.0)], &t)
                .guidance
                .contains(&Guidance::TooBright)
        );
        let flat = frame_with(|_, _| 120);
        assert!(
            assess(&flat, &[face(220.0, 140.0, 200.0)], &t)
                .guidance
                .contains(&Guidance::Blurry)
        );
        let mut turned = face(220.0, 140.0, 200.0);
        turned.landmarks[2].x += 60.0;
        assert!(
            assess(&good, &[turned], &t)
                .guidance
                .contains(&Guidance::TurnedAway)
        );
    }

    #[test]
    fn faces_partly_outside_or_degenerate_never_panic() {
        let t = Thresholds::default();
        let f = frame_with(checker);
        for d in [
            face(-500.0, -500.0, 100.0),
            face(630.0, 470.0, 500.0),
            face(f32::NAN, 0.0, 1.0),
        ] {
            let _ = assess(&f, &[d], &t);
        }
        let tiny = Frame {
            width: 1,
            height: 1,
            rgb: vec![0; 3],
        };
        let _ = assess(&tiny, &[face(0.0, 0.0, 1.0)], &t);
    }
}
