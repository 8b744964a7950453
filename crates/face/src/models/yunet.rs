//! YuNet face detection (OpenCV Zoo `face_detection_yunet_2023mar_int8bq.onnx`).
//!
//! Input: `1×3×H×W` f32, **BGR**, values `0..255`, H and W multiples of 32 (the frame is
//! padded with black at the bottom and right, as OpenCV's `FaceDetectorYN` does). Outputs,
//! for each stride `s` in 8, 16, 32 over the `(H/s)×(W/s)` grid in row-major order:
//! `cls_s` and `obj_s` (`N×1` probabilities), `bbox_s` (`N×4`: centre offsets in cells,
//! log width and height in cells) and `kps_s` (`N×10`: five `(x, y)` offsets in cells).
//! Decoding follows `FaceDetectorYN::postProcess` (OpenCV `face_detect.cpp`):
//! score = √(clamp(cls)·clamp(obj)); centre = (col + b0, row + b1)·s; size =
//! (e^b2, e^b3)·s; landmark k = (col + k_x, row + k_y)·s; then NMS.

use std::sync::Mutex;

use tract_onnx::prelude::InferenceModel;

use super::sample::{downscale_area, validate};
use super::{ModelError, Plan, optimise, parse, run};
use crate::frame::{Detection, Frame, Point};

const MODEL: &str = "YuNet";
static ONNX: &[u8] = include_bytes!("../../models/face_detection_yunet_2023mar_int8bq.onnx");

/// Minimum score of a reported face (OpenCV's default for YuNet).
pub const SCORE_THRESHOLD: f32 = 0.6;
/// Boxes overlapping a better one by more than this intersection-over-union are dropped.
pub const NMS_IOU_THRESHOLD: f32 = 0.3;
/// Frames whose longer side exceeds this many pixels are downscaled (area averaging) before
/// detection; the results are scaled back to the frame's pixels.
pub const MAX_DETECTOR_SIDE: u32 = 1280;

const STRIDES: [usize; 3] = [8, 16, 32];
/// Optimised plans kept for different input sizes (a camera delivers one size).
const PLAN_CACHE: usize = 4;

/// The YuNet face detector. Build it once with [`Detector::load`] and share it.
pub struct Detector {
    /// The dequantised network, before its input size is fixed.
    parsed: InferenceModel,
    /// Optimised plans by padded input size `(width, height)`, most recent last.
    plans: Mutex<Vec<((usize, usize), Plan)>>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector").finish_non_exhaustive()
    }
}

impl Detector {
    /// Parses and dequantises the compiled-in model and optimises it for 640×480 frames
    /// (other sizes are optimised on first use and cached).
    pub fn load() -> Result<Detector, ModelError> {
        let parsed = parse(MODEL, ONNX, true)?;
        // The decoder relies on the output order cls, obj, bbox, kps × strides 8, 16, 32.
        let names: Vec<&str> = parsed
            .output_outlets()
            .map_err(|e| ModelError::Load {
                model: MODEL,
                reason: format!("{e:#}"),
            })?
            .iter()
            .map(|o| parsed.outlet_label(*o).unwrap_or(""))
            .collect();
        let expected: Vec<String> = ["cls", "obj", "bbox", "kps"]
            .iter()
            .flat_map(|k| STRIDES.iter().map(move |s| format!("{k}_{s}")))
            .collect();
        if names != expected {
            return Err(ModelError::Load {
                model: MODEL,
                reason: format!("unexpected outputs {names:?}"),
            });
        }
        let detector = Detector {
            parsed,
            plans: Mutex::new(Vec::new()),
        };
        detector.plan(640, 480)?;
        Ok(detector)
    }

    /// The plan for a padded input of `width`×`height`.
    fn plan(&self, width: usize, height: usize) -> Result<Plan, ModelError> {
        let key = (width, height);
        {
            let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(i) = plans.iter().position(|(k, _)| *k == key) {
                let entry = plans.remove(i);
                let plan = entry.1.clone();
                plans.push(entry);
                return Ok(plan);
            }
        }
        // Optimise outside the lock; a concurrent caller may do the same work once.
        let plan = optimise(MODEL, self.parsed.clone(), &[1, 3, height, width])?;
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        if !plans.iter().any(|(k, _)| *k == key) {
            if plans.len() >= PLAN_CACHE {
                plans.remove(0);
            }
            plans.push((key, plan.clone()));
        }
        Ok(plan)
    }

    /// Finds faces in `frame`: every face scoring at least [`SCORE_THRESHOLD`], after
    /// non-maximum suppression at [`NMS_IOU_THRESHOLD`], best first, with box and
    /// landmarks in the frame's pixel coordinates (boxes may extend past the frame edge).
    ///
    /// Errors: [`ModelError::Input`] for an empty frame, a buffer whose length is not
    /// `width * height * 3`, or a side above [`super::MAX_FRAME_SIDE`];
    /// [`ModelError::Inference`] if the network fails.
    pub fn detect(&self, frame: &Frame) -> Result<Vec<Detection>, ModelError> {
        self.detect_within(frame, MAX_DETECTOR_SIDE)
    }

    /// [`detect`](Self::detect) on the frame scaled down (if needed) so its longer side is at
    /// most `max_side` (clamped to 32..=[`MAX_DETECTOR_SIDE`]); results are in the frame's
    /// own coordinates. A face filling a selfie frame needs far fewer pixels than a crowd.
    pub fn detect_within(
        &self,
        frame: &Frame,
        max_side: u32,
    ) -> Result<Vec<Detection>, ModelError> {
        validate(frame)?;
        let max_side = max_side.clamp(32, MAX_DETECTOR_SIDE);
        let long = frame.width.max(frame.height);
        let (w, h, scale, pixels) = if long > max_side {
            let s = max_side as f32 / long as f32;
            let w = ((frame.width as f32 * s).round() as u32).clamp(1, max_side);
            let h = ((frame.height as f32 * s).round() as u32).clamp(1, max_side);
            let scale = frame.width as f32 / w as f32;
            (
                w as usize,
                h as usize,
                scale,
                std::borrow::Cow::Owned(downscale_area(frame, w, h)),
            )
        } else {
            let (w, h) = (frame.width as usize, frame.height as usize);
            (w, h, 1.0, std::borrow::Cow::Borrowed(&frame.rgb[..]))
        };
        let (pw, ph) = (w.div_ceil(32) * 32, h.div_ceil(32) * 32);

        // NCHW, BGR, 0..255, zero padding at the bottom and right.
        let plane = pw * ph;
        let mut input = vec![0f32; 3 * plane];
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 3;
                let o = y * pw + x;
                input[o] = f32::from(pixels[i + 2]);
                input[plane + o] = f32::from(pixels[i + 1]);
                input[2 * plane + o] = f32::from(pixels[i]);
            }
        }

        let plan = self.plan(pw, ph)?;
        let cells: Vec<usize> = STRIDES.iter().map(|s| (pw / s) * (ph / s)).collect();
        let per_cell = [1, 1, 4, 10]; // cls, obj, bbox, kps
        let expected: Vec<Option<usize>> = per_cell
            .iter()
            .flat_map(|k| cells.iter().map(move |n| Some(n * k)))
            .collect();
        let out = run(MODEL, &plan, &[1, 3, ph, pw], input, &expected)?;

        let mut faces = Vec::new();
        for (si, &stride) in STRIDES.iter().enumerate() {
            let cols = pw / stride;
            let (cls, obj, bbox, kps) = (&out[si], &out[3 + si], &out[6 + si], &out[9 + si]);
            for idx in 0..cells[si] {
                let score = (cls[idx].clamp(0.0, 1.0) * obj[idx].clamp(0.0, 1.0)).sqrt();
                if score < SCORE_THRESHOLD {
                    continue;
                }
                let (r, c) = ((idx / cols) as f32, (idx % cols) as f32);
                let s = stride as f32;
                let b = &bbox[idx * 4..idx * 4 + 4];
                let (cx, cy) = ((c + b[0]) * s, (r + b[1]) * s);
                // Clamp the log-size so that a wild output cannot overflow to infinity.
                let (bw, bh) = (b[2].min(20.0).exp() * s, b[3].min(20.0).exp() * s);
                let k = &kps[idx * 10..idx * 10 + 10];
                let landmarks: [Point; 5] = std::array::from_fn(|n| Point {
                    x: (k[2 * n] + c) * s * scale,
                    y: (k[2 * n + 1] + r) * s * scale,
                });
                faces.push(Detection {
                    x: (cx - bw / 2.0) * scale,
                    y: (cy - bh / 2.0) * scale,
                    width: bw * scale,
                    height: bh * scale,
                    score,
                    landmarks,
                });
            }
        }
        Ok(nms(faces, NMS_IOU_THRESHOLD))
    }
}

/// Greedy non-maximum suppression: best score first, dropping boxes whose IoU with a kept
/// box exceeds `threshold`. Returns the kept boxes sorted by descending score.
fn nms(mut faces: Vec<Detection>, threshold: f32) -> Vec<Detection> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for f in faces {
        if kept.iter().all(|k| iou(k, &f) <= threshold) {
            kept.push(f);
        }
    }
    kept
}

fn iou(a: &Detection, b: &Detection) -> f32 {
    let ix = ((a.x + a.width).min(b.x + b.width) - a.x.max(b.x)).max(0.0);
    let iy = ((a.y + a.height).min(b.y + b.height) - a.y.max(b.y)).max(0.0);
    let inter = ix * iy;
    let union = a.width * a.height + b.width * b.height - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, score: f32) -> Detection {
        Detection {
            x,
            y: 0.0,
            width: 10.0,
            height: 10.0,
            score,
            landmarks: [Point::default(); 5],
        }
    }

    #[test]
    fn nms_keeps_best_of_overlapping_boxes() {
        let kept = nms(vec![det(0.0, 0.7), det(1.0, 0.9), det(30.0, 0.8)], 0.3);
        let xs: Vec<f32> = kept.iter().map(|d| d.x).collect();
        assert_eq!(xs, vec![1.0, 30.0]);
        assert!((iou(&det(0.0, 1.0), &det(5.0, 1.0)) - 50.0 / 150.0).abs() < 1e-6);
    }
}
