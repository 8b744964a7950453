//! Alignment of a face to the 112×112 crop SFace expects: a similarity transform (scale,
//! rotation, translation) from YuNet's five landmarks to the standard ArcFace template,
//! fitted by least squares (Umeyama), then bilinear resampling.

use image::RgbImage;

use crate::frame::{Frame, Point};

/// Side of the aligned crop.
pub const ALIGNED_SIZE: u32 = 112;

/// Where the five landmarks go in the 112×112 crop (the ArcFace/InsightFace template that
/// OpenCV's `FaceRecognizerSF::alignCrop` uses), in YuNet's order.
pub const TEMPLATE: [Point; 5] = [
    Point {
        x: 38.2946,
        y: 51.6963,
    },
    Point {
        x: 73.5318,
        y: 51.5014,
    },
    Point {
        x: 56.0252,
        y: 71.7366,
    },
    Point {
        x: 41.5493,
        y: 92.3655,
    },
    Point {
        x: 70.7299,
        y: 92.2041,
    },
];

/// `dst = s·R·src + t`, as `[a, -b, tx; b, a, ty]` with `a = s cos θ`, `b = s sin θ`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    a: f32,
    b: f32,
    tx: f32,
    ty: f32,
}

impl Similarity {
    /// The least-squares similarity mapping `src` onto `dst`; `None` if the source points
    /// are degenerate (all in one place).
    pub fn fit(src: &[Point; 5], dst: &[Point; 5]) -> Option<Similarity> {
        let n = src.len() as f32;
        let (sx, sy) = src.iter().fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
        let (dx, dy) = dst.iter().fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
        let (smx, smy, dmx, dmy) = (sx / n, sy / n, dx / n, dy / n);
        let mut var = 0.0;
        let (mut num_a, mut num_b) = (0.0, 0.0);
        for (s, d) in src.iter().zip(dst) {
            let (px, py) = (s.x - smx, s.y - smy);
            let (qx, qy) = (d.x - dmx, d.y - dmy);
            var += px * px + py * py;
            num_a += px * qx + py * qy;
            num_b += px * qy - py * qx;
        }
        if var < 1e-3 || !var.is_finite() {
            return None;
        }
        let a = num_a / var;
        let b = num_b / var;
        Some(Similarity {
            a,
            b,
            tx: dmx - (a * smx - b * smy),
            ty: dmy - (b * smx + a * smy),
        })
    }

    /// Maps a point.
    pub fn apply(&self, p: Point) -> Point {
        Point {
            x: self.a * p.x - self.b * p.y + self.tx,
            y: self.b * p.x + self.a * p.y + self.ty,
        }
    }

    /// The inverse transform.
    pub fn inverse(&self) -> Option<Similarity> {
        let det = self.a * self.a + self.b * self.b;
        if det < 1e-12 {
            return None;
        }
        let (ia, ib) = (self.a / det, -self.b / det);
        Some(Similarity {
            a: ia,
            b: ib,
            tx: -(ia * self.tx - ib * self.ty),
            ty: -(ib * self.tx + ia * self.ty),
        })
    }
}

/// The 112×112 aligned face for `landmarks` in `frame` (`None` for degenerate landmarks).
pub fn align(frame: &Frame, landmarks: &[Point; 5]) -> Option<RgbImage> {
    let to_crop = Similarity::fit(landmarks, &TEMPLATE)?;
    let to_frame = to_crop.inverse()?;
    let mut out = RgbImage::new(ALIGNED_SIZE, ALIGNED_SIZE);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let src = to_frame.apply(Point {
            x: x as f32,
            y: y as f32,
        });
        px.0 = bilinear(frame, src.x, src.y);
    }
    Some(out)
}

/// Bilinear sample; outside the frame is black (as OpenCV's `warpAffine` default).
fn bilinear(frame: &Frame, x: f32, y: f32) -> [u8; 3] {
    let (w, h) = (frame.width as i64, frame.height as i64);
    let (x0, y0) = (x.floor() as i64, y.floor() as i64);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let px = |xi: i64, yi: i64| -> [f32; 3] {
        if xi < 0 || yi < 0 || xi >= w || yi >= h {
            return [0.0; 3];
        }
        let i = ((yi * w + xi) * 3) as usize;
        match frame.rgb.get(i..i + 3) {
            Some(p) => [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])],
            None => [0.0; 3],
        }
    };
    let (p00, p10, p01, p11) = (
        px(x0, y0),
        px(x0 + 1, y0),
        px(x0, y0 + 1),
        px(x0 + 1, y0 + 1),
    );
    let mut out = [0u8; 3];
    for c in 0..3 {
        let top = p00[c] * (1.0 - fx) + p10[c] * fx;
        let bottom = p01[c] * (1.0 - fx) + p11[c] * fx;
        out[c] = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_known_similarity() {
        let truth = Similarity {
            a: 1.7 * 0.3f32.cos(),
            b: 1.7 * 0.3f32.sin(),
            tx: 12.0,
            ty: -4.0,
        };
        let src = TEMPLATE;
        let dst = src.map(|p| truth.apply(p));
        let fit = Similarity::fit(&src, &dst).unwrap();
        for (a, b) in [
            (fit.a, truth.a),
            (fit.b, truth.b),
            (fit.tx, truth.tx),
            (fit.ty, truth.ty),
        ] {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
        let back = fit.inverse().unwrap().apply(dst[2]);
        assert!((back.x - src[2].x).abs() < 1e-3 && (back.y - src[2].y).abs() < 1e-3);
    }

    #[test]
    fn degenerate_landmarks_are_refused() {
        let p = [Point { x: 5.0, y: 5.0 }; 5];
        assert!(Similarity::fit(&p, &TEMPLATE).is_none());
        let frame = Frame {
            width: 10,
            height: 10,
            rgb: vec![0; 300],
        };
        assert!(align(&frame, &p).is_none());
    }

    #[test]
    fn aligning_a_template_sized_face_is_the_identity() {
        // A frame that is already the crop: alignment must return it unchanged.
        let mut img = RgbImage::new(112, 112);
        for (x, y, p) in img.enumerate_pixels_mut() {
            p.0 = [x as u8 * 2, y as u8 * 2, 128];
        }
        let frame = Frame::from_rgb_image(img.clone());
        let out = align(&frame, &TEMPLATE).unwrap();
        assert_eq!(out.get_pixel(60, 60), img.get_pixel(60, 60));
        assert_eq!(out.get_pixel(10, 100), img.get_pixel(10, 100));
    }
}
