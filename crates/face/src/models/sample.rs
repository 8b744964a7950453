//! Pixel plumbing shared by the models: frame validation, area downscaling and rotated-crop
//! resampling into model input tensors.

use super::ModelError;
use crate::frame::{Frame, Point};

/// Largest accepted frame side, in pixels (the detector downscales anything above
/// [`super::MAX_DETECTOR_SIDE`] anyway; this only bounds the work done on absurd input).
pub const MAX_FRAME_SIDE: u32 = 16_384;

/// Checks that `frame` is non-empty, not absurdly large, and that its buffer has exactly
/// `width * height * 3` bytes.
pub(crate) fn validate(frame: &Frame) -> Result<(), ModelError> {
    if frame.width == 0 || frame.height == 0 {
        return Err(ModelError::Input(format!(
            "empty frame ({}x{})",
            frame.width, frame.height
        )));
    }
    if frame.width > MAX_FRAME_SIDE || frame.height > MAX_FRAME_SIDE {
        return Err(ModelError::Input(format!(
            "frame {}x{} is larger than {MAX_FRAME_SIDE} px on a side",
            frame.width, frame.height
        )));
    }
    let expected = (frame.width as usize)
        .checked_mul(frame.height as usize)
        .and_then(|n| n.checked_mul(3));
    if expected != Some(frame.rgb.len()) {
        return Err(ModelError::Input(format!(
            "frame {}x{} has {} bytes of RGB (expected {})",
            frame.width,
            frame.height,
            frame.rgb.len(),
            u64::from(frame.width) * u64::from(frame.height) * 3
        )));
    }
    Ok(())
}

/// Downscales a validated frame to `width`×`height` (both no larger than the frame's) by
/// averaging each output pixel's footprint (like OpenCV's `INTER_AREA`, on whole pixels).
pub(crate) fn downscale_area(frame: &Frame, width: u32, height: u32) -> Vec<u8> {
    let (sw, sh) = (frame.width as usize, frame.height as usize);
    let (dw, dh) = (width.max(1) as usize, height.max(1) as usize);
    // Source column span of every output column, computed once.
    let spans = |src: usize, dst: usize| -> Vec<(usize, usize)> {
        (0..dst)
            .map(|i| {
                let a = i * src / dst;
                let b = ((i + 1) * src).div_ceil(dst).clamp(a + 1, src);
                (a, b)
            })
            .collect()
    };
    let cols = spans(sw, dw);
    let rows = spans(sh, dh);
    let mut out = Vec::with_capacity(dw * dh * 3);
    let mut acc = vec![0u32; dw * 3];
    for &(y0, y1) in &rows {
        acc.iter_mut().for_each(|a| *a = 0);
        for y in y0..y1 {
            let row = &frame.rgb[y * sw * 3..(y + 1) * sw * 3];
            for (o, &(x0, x1)) in cols.iter().enumerate() {
                for px in row[x0 * 3..x1 * 3].chunks_exact(3) {
                    acc[o * 3] += u32::from(px[0]);
                    acc[o * 3 + 1] += u32::from(px[1]);
                    acc[o * 3 + 2] += u32::from(px[2]);
                }
            }
        }
        for (o, &(x0, x1)) in cols.iter().enumerate() {
            let n = ((x1 - x0) * (y1 - y0)) as u32;
            for c in 0..3 {
                out.push(((acc[o * 3 + c] + n / 2) / n) as u8);
            }
        }
    }
    out
}

/// A rectangle in frame pixels, rotated by `angle` radians (clockwise on screen, since y
/// points down) about its centre: MediaPipe's region of interest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RotatedRect {
    pub cx: f32,
    pub cy: f32,
    pub width: f32,
    pub height: f32,
    pub angle: f32,
}

impl RotatedRect {
    /// The square of side `scale * max(w, h)` around the axis-aligned box `(x0, y0)-(x1, y1)`,
    /// rotated so its x axis runs from `from` to `to` (MediaPipe's `SQUARE_LONG` ROI).
    pub fn square_around(
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        scale: f32,
        from: Point,
        to: Point,
    ) -> Self {
        let side = (x1 - x0).max(y1 - y0) * scale;
        RotatedRect {
            cx: (x0 + x1) / 2.0,
            cy: (y0 + y1) / 2.0,
            width: side,
            height: side,
            angle: (to.y - from.y).atan2(to.x - from.x),
        }
    }

    /// Whether every number is finite and the size is positive and sane.
    pub fn is_valid(&self) -> bool {
        [self.cx, self.cy, self.width, self.height, self.angle]
            .iter()
            .all(|v| v.is_finite())
            && self.width >= 1.0
            && self.height >= 1.0
            && self.width <= 1e6
            && self.height <= 1e6
    }

    /// Maps a point of the rectangle's own frame, `(u, v)` in `0..1` from its top-left
    /// corner, to frame pixels.
    pub fn to_frame(self, u: f32, v: f32) -> Point {
        let (s, c) = self.angle.sin_cos();
        let dx = (u - 0.5) * self.width;
        let dy = (v - 0.5) * self.height;
        Point {
            x: self.cx + dx * c - dy * s,
            y: self.cy + dx * s + dy * c,
        }
    }
}

/// Resamples `rect` of a validated frame into a `size`×`size` NCHW RGB tensor with values in
/// `0..1` (pixels outside the frame are black), bilinearly; when the rectangle is at least
/// twice the output size, each output pixel averages a grid of bilinear samples so that
/// large crops do not alias. With `flip`, the crop is mirrored left to right.
pub(crate) fn crop_to_tensor(
    frame: &Frame,
    rect: &RotatedRect,
    size: usize,
    flip: bool,
) -> Vec<f32> {
    let plane = size * size;
    let mut out = vec![0f32; 3 * plane];
    let ratio = rect.width.max(rect.height) / size as f32;
    let k = (ratio.floor() as usize).clamp(1, 8);
    let (w, h) = (frame.width as usize, frame.height as usize);
    let fetch = |x: isize, y: isize| -> [f32; 3] {
        if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
            return [0.0; 3];
        }
        let i = (y as usize * w + x as usize) * 3;
        [
            f32::from(frame.rgb[i]),
            f32::from(frame.rgb[i + 1]),
            f32::from(frame.rgb[i + 2]),
        ]
    };
    let sample = |p: Point| -> [f32; 3] {
        // Pixel centres sit at integer + 0.5.
        let (x, y) = (p.x - 0.5, p.y - 0.5);
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (xi, yi) = (x0 as isize, y0 as isize);
        let (a, b, c, d) = (
            fetch(xi, yi),
            fetch(xi + 1, yi),
            fetch(xi, yi + 1),
            fetch(xi + 1, yi + 1),
        );
        let mut v = [0.0; 3];
        for ch in 0..3 {
            let top = a[ch] + (b[ch] - a[ch]) * fx;
            let bottom = c[ch] + (d[ch] - c[ch]) * fx;
            v[ch] = top + (bottom - top) * fy;
        }
        v
    };
    let norm = 1.0 / (255.0 * (k * k) as f32);
    for row in 0..size {
        for col in 0..size {
            let mut acc = [0f32; 3];
            for sy in 0..k {
                for sx in 0..k {
                    let u = (col as f32 + (sx as f32 + 0.5) / k as f32) / size as f32;
                    let v = (row as f32 + (sy as f32 + 0.5) / k as f32) / size as f32;
                    let u = if flip { 1.0 - u } else { u };
                    let s = sample(rect.to_frame(u, v));
                    acc.iter_mut().zip(s).for_each(|(a, s)| *a += s);
                }
            }
            for ch in 0..3 {
                out[ch * plane + row * size + col] = acc[ch] * norm;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(width: u32, height: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Frame {
        let mut rgb = Vec::new();
        for y in 0..height {
            for x in 0..width {
                rgb.extend_from_slice(&f(x, y));
            }
        }
        Frame { width, height, rgb }
    }

    #[test]
    fn validation() {
        assert!(validate(&frame(2, 2, |_, _| [0; 3])).is_ok());
        assert!(
            validate(&Frame {
                width: 2,
                height: 2,
                rgb: vec![0; 11]
            })
            .is_err()
        );
        assert!(
            validate(&Frame {
                width: 0,
                height: 2,
                rgb: vec![]
            })
            .is_err()
        );
        assert!(
            validate(&Frame {
                width: u32::MAX,
                height: u32::MAX,
                rgb: vec![]
            })
            .is_err()
        );
    }

    #[test]
    fn area_downscale_averages() {
        let f = frame(4, 2, |x, _| [if x % 2 == 0 { 0 } else { 200 }, 10, 20]);
        assert_eq!(downscale_area(&f, 2, 1), vec![100, 10, 20, 100, 10, 20]);
        let f = frame(5, 3, |x, y| [(x * 10) as u8, (y * 10) as u8, 7]);
        assert_eq!(downscale_area(&f, 5, 3), f.rgb);
    }

    #[test]
    fn identity_crop_reproduces_pixels() {
        let f = frame(8, 8, |x, y| [(x * 30) as u8, (y * 30) as u8, 255]);
        let rect = RotatedRect {
            cx: 4.0,
            cy: 4.0,
            width: 8.0,
            height: 8.0,
            angle: 0.0,
        };
        let t = crop_to_tensor(&f, &rect, 8, false);
        assert!((t[3 * 8 + 5] - 150.0 / 255.0).abs() < 1e-5); // R at (5, 3)
        assert!((t[64 + 3 * 8 + 5] - 90.0 / 255.0).abs() < 1e-5); // G at (5, 3)
        let flipped = crop_to_tensor(&f, &rect, 8, true);
        assert!((flipped[3 * 8 + 2] - 150.0 / 255.0).abs() < 1e-5);
        // A quarter turn maps the crop's x axis onto the frame's y axis.
        let turned = RotatedRect {
            angle: std::f32::consts::FRAC_PI_2,
            ..rect
        };
        let p = turned.to_frame(1.0, 0.5);
        assert!((p.x - 4.0).abs() < 1e-4 && (p.y - 8.0).abs() < 1e-4);
    }
}
