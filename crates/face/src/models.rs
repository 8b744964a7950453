//! The four neural networks of the face pipeline, run in pure Rust with `tract-onnx`, with
//! their pre- and post-processing:
//!
//! - [`Detector`]: OpenCV Zoo YuNet (2023mar, int8 block-quantised): face boxes, scores and
//!   five landmarks.
//! - [`Recognizer`]: OpenCV Zoo SFace (2021dec, int8 block-quantised): a 128-d embedding of
//!   a 112×112 aligned face, compared by cosine similarity.
//! - [`EyeMesh`]: MediaPipe's 468-point face mesh plus its iris/eye-contour model, for the
//!   eye aspect ratios of the blink check.
//!
//! The model files (see `models/MODELS.md` and `models/LICENSES/`) are compiled into the
//! binary with `include_bytes!`; nothing is read from disk or downloaded. YuNet and SFace
//! store their weights as blocked int8, which tract rejects, so those weights are
//! dequantised to f32 while loading. Each network is optimised once at load
//! time; the structs are `Send + Sync` and can be shared between threads.
//!
//! Nothing here logs or stores pixels, landmarks or embeddings.

mod dequantize;
mod mesh;
mod sample;
mod sface;
mod yunet;

use tract_onnx::prelude::*;

pub use mesh::{
    EyeMesh, LEFT_EYE_EAR_POINTS, LEFT_EYE_TO_MESH, RIGHT_EYE_EAR_POINTS, RIGHT_EYE_TO_MESH,
};
pub use sample::MAX_FRAME_SIDE;
pub use sface::{EMBEDDING_LEN, Recognizer, SFACE_INPUT_SIZE, SFACE_MATCH_THRESHOLD};
pub use yunet::{Detector, MAX_DETECTOR_SIDE, NMS_IOU_THRESHOLD, SCORE_THRESHOLD};

/// What can go wrong when loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A compiled-in model could not be parsed, dequantised or optimised.
    #[error("cannot load the {model} model: {reason}")]
    Load {
        /// Which model.
        model: &'static str,
        /// tract's (or the dequantiser's) explanation.
        reason: String,
    },
    /// The input is unusable: empty or inconsistent frame, wrong crop size, a detection
    /// outside the frame or with non-finite coordinates, ….
    #[error("invalid input: {0}")]
    Input(String),
    /// The model ran but failed, or produced output of an unexpected shape or no usable
    /// result.
    #[error("the {model} model failed: {reason}")]
    Inference {
        /// Which model.
        model: &'static str,
        /// What happened.
        reason: String,
    },
}

/// An optimised, runnable tract model.
type Plan = Arc<TypedRunnableModel>;

/// Parses a compiled-in ONNX file, dequantising blocked int8 weights when asked. Value-info
/// shapes recorded in the file are ignored (YuNet's pin the input to 640×640); callers fix
/// the input shape before optimising.
fn parse(
    model: &'static str,
    bytes: &[u8],
    dequantize: bool,
) -> Result<InferenceModel, ModelError> {
    let load = |reason: String| ModelError::Load { model, reason };
    let onnx = tract_onnx::onnx().with_ignore_value_info(true);
    let mut proto = onnx
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| load(format!("{e:#}")))?;
    if dequantize {
        dequantize::dequantize_weights(&mut proto).map_err(&load)?;
    }
    onnx.model_for_proto_model(&proto)
        .map_err(|e| load(format!("{e:#}")))
}

/// Fixes the (single) input to an f32 tensor of `shape`, optimises, and makes it runnable.
fn optimise(
    model: &'static str,
    parsed: InferenceModel,
    shape: &[usize],
) -> Result<Plan, ModelError> {
    let load = |e: TractError| ModelError::Load {
        model,
        reason: format!("{e:#}"),
    };
    parsed
        .with_input_fact(0, f32::fact(shape).into())
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(load)
}

/// Runs a plan on one f32 NCHW input and returns its outputs as f32 vectors, checking each
/// has `expected[i]` elements (`None` skips the check).
fn run(
    model: &'static str,
    plan: &Plan,
    shape: &[usize],
    data: Vec<f32>,
    expected: &[Option<usize>],
) -> Result<Vec<Vec<f32>>, ModelError> {
    let fail = |reason: String| ModelError::Inference { model, reason };
    let input = tract_ndarray::Array::from_shape_vec(shape, data)
        .map_err(|e| fail(format!("input tensor: {e}")))?;
    let outputs = plan
        .run(tvec!(Tensor::from(input).into_tvalue()))
        .map_err(|e| fail(format!("{e:#}")))?;
    if outputs.len() != expected.len() {
        return Err(fail(format!(
            "{} outputs, expected {}",
            outputs.len(),
            expected.len()
        )));
    }
    outputs
        .iter()
        .zip(expected)
        .enumerate()
        .map(|(i, (t, want))| {
            let v: Vec<f32> = t
                .to_plain_array_view::<f32>()
                .map_err(|e| fail(format!("output {i}: {e:#}")))?
                .iter()
                .copied()
                .collect();
            match want {
                Some(n) if v.len() != *n => Err(fail(format!(
                    "output {i} has {} values, expected {n}",
                    v.len()
                ))),
                _ if v.iter().any(|x| !x.is_finite()) => {
                    Err(fail(format!("output {i} is not finite")))
                }
                _ => Ok(v),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn models_are_send_and_sync() {
        assert_send_sync::<Detector>();
        assert_send_sync::<Recognizer>();
        assert_send_sync::<EyeMesh>();
        assert_send_sync::<ModelError>();
    }
}
