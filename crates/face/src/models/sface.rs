//! SFace face recognition (OpenCV Zoo `face_recognition_sface_2021dec_int8bq.onnx`).
//!
//! Input `data`: `1×3×112×112` f32, RGB, values `0..255` (OpenCV's `FaceRecognizerSF::feature`
//! feeds `blobFromImage(aligned_bgr, 1, 112×112, 0, swapRB = true)`; the network normalises
//! internally). Output `fc1`: `1×128`, which is L2-normalised here so that the cosine
//! similarity of two faces is the dot product of their embeddings.

use image::RgbImage;

use super::{ModelError, Plan, optimise, parse, run};

const MODEL: &str = "SFace";
static ONNX: &[u8] = include_bytes!("../../models/face_recognition_sface_2021dec_int8bq.onnx");

/// Side of the aligned face SFace takes.
pub const SFACE_INPUT_SIZE: u32 = 112;
/// Length of an embedding.
pub const EMBEDDING_LEN: usize = 128;
/// OpenCV's reference cosine-similarity threshold for SFace ("same person" at or above).
pub const SFACE_MATCH_THRESHOLD: f32 = 0.363;

/// The SFace embedder. Build it once with [`Recognizer::load`] and share it.
pub struct Recognizer {
    plan: Plan,
}

impl std::fmt::Debug for Recognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recognizer").finish_non_exhaustive()
    }
}

impl Recognizer {
    /// Parses, dequantises and optimises the compiled-in model.
    pub fn load() -> Result<Recognizer, ModelError> {
        let n = SFACE_INPUT_SIZE as usize;
        let plan = optimise(MODEL, parse(MODEL, ONNX, true)?, &[1, 3, n, n])?;
        Ok(Recognizer { plan })
    }

    /// The L2-normalised embedding of an aligned 112×112 RGB face (see `crate::align`).
    ///
    /// Errors: [`ModelError::Input`] if the image is not 112×112;
    /// [`ModelError::Inference`] if the network fails or returns a zero vector.
    pub fn embed(&self, aligned: &RgbImage) -> Result<[f32; EMBEDDING_LEN], ModelError> {
        let n = SFACE_INPUT_SIZE as usize;
        if aligned.dimensions() != (SFACE_INPUT_SIZE, SFACE_INPUT_SIZE)
            || aligned.len() != n * n * 3
        {
            return Err(ModelError::Input(format!(
                "aligned face is {}x{}, expected {SFACE_INPUT_SIZE}x{SFACE_INPUT_SIZE}",
                aligned.width(),
                aligned.height()
            )));
        }
        let plane = n * n;
        let mut input = vec![0f32; 3 * plane];
        for (i, px) in aligned.as_raw().chunks_exact(3).enumerate() {
            for c in 0..3 {
                input[c * plane + i] = f32::from(px[c]);
            }
        }
        let out = run(
            MODEL,
            &self.plan,
            &[1, 3, n, n],
            input,
            &[Some(EMBEDDING_LEN)],
        )?;
        let v = &out[0];
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !(norm > 1e-6 && norm.is_finite()) {
            return Err(ModelError::Inference {
                model: MODEL,
                reason: "zero embedding".into(),
            });
        }
        let mut e = [0f32; EMBEDDING_LEN];
        e.iter_mut().zip(v).for_each(|(e, x)| *e = x / norm);
        Ok(e)
    }
}
