//! The whole pipeline over frames: detection + quality for guidance, observations for
//! liveness, templates for matching. Models are loaded once and shared.

use crate::align;
use crate::frame::{Detection, Frame};
use crate::liveness::{Challenge, Observation, Rules, Session, Verdict};
use crate::models::{Detector, EyeMesh, ModelError, Recognizer};
use crate::quality::{self, Quality, Thresholds};
use crate::source::{CaptureError, FrameSource};
use crate::template::Template;

/// Why a face could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// A model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// No face in the picture.
    #[error("no face found")]
    NoFace,
    /// Several faces; which one is meant is unknown.
    #[error("{0} faces found: only one person may be in the picture")]
    MultipleFaces(usize),
    /// No frame of an answer completed the actions, so there is no face to match.
    #[error("no frame completed the challenge's actions")]
    NotAnswered,
    /// The landmarks cannot be aligned (a degenerate detection).
    #[error("the face could not be aligned")]
    Alignment,
    /// The frame source failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

/// The eye mesh is only trusted on a roughly frontal face (|yaw proxy| below this); blinks
/// are asked facing front.
pub(crate) const MESH_MAX_YAW: f32 = 0.15;

/// The models, loaded once (a few hundred milliseconds), shareable across threads.
#[derive(Debug)]
pub struct FaceAnalyzer {
    detector: Detector,
    recognizer: Recognizer,
    mesh: EyeMesh,
    /// The quality gates in use.
    pub thresholds: Thresholds,
}

/// One face found in a picture, with its template.
#[derive(Debug, Clone)]
pub struct EnrolledFace {
    /// Where it is.
    pub detection: Detection,
    /// Its template.
    pub template: Template,
}

impl FaceAnalyzer {
    /// Loads the compiled-in models.
    pub fn load() -> Result<FaceAnalyzer, ModelError> {
        Ok(FaceAnalyzer {
            detector: Detector::load()?,
            recognizer: Recognizer::load()?,
            mesh: EyeMesh::load()?,
            thresholds: Thresholds::default(),
        })
    }

    /// The faces in a frame.
    pub fn detect(&self, frame: &Frame) -> Result<Vec<Detection>, ModelError> {
        self.detector.detect(frame)
    }

    /// Detection and the quality gates: what the capture screen shows.
    pub fn quality(&self, frame: &Frame) -> Result<(Vec<Detection>, Quality), ModelError> {
        let faces = self.detector.detect(frame)?;
        let q = quality::assess(frame, &faces, &self.thresholds);
        Ok((faces, q))
    }

    /// The template of the single face in `frame`.
    pub fn template(&self, frame: &Frame) -> Result<EnrolledFace, FaceError> {
        let faces = self.detector.detect(frame)?;
        let detection = match faces.as_slice() {
            [] => return Err(FaceError::NoFace),
            [one] => *one,
            many => return Err(FaceError::MultipleFaces(many.len())),
        };
        self.template_of(frame, detection)
    }

    /// The template of the face `detection` found in `frame`.
    pub fn template_of(
        &self,
        frame: &Frame,
        detection: Detection,
    ) -> Result<EnrolledFace, FaceError> {
        let aligned = align::align(frame, &detection.landmarks).ok_or(FaceError::Alignment)?;
        let embedding = self.recognizer.embed(&aligned)?;
        let template = Template::from_embedding(embedding).map_err(|_| FaceError::Alignment)?;
        Ok(EnrolledFace {
            detection,
            template,
        })
    }

    /// What liveness needs from one frame; `previous_luma` is the last frame's luma plane (for
    /// motion), and is replaced by this frame's.
    pub fn observe(
        &self,
        frame: &Frame,
        at: u64,
        previous_luma: &mut Option<Vec<u8>>,
    ) -> Result<Observation, ModelError> {
        self.observe_with(frame, at, previous_luma, true)
    }

    /// [`observe`](Self::observe), running the eye mesh only if `eyes` (it costs more than
    /// detection; head turns do not need it).
    pub fn observe_with(
        &self,
        frame: &Frame,
        at: u64,
        previous_luma: &mut Option<Vec<u8>>,
        eyes: bool,
    ) -> Result<Observation, ModelError> {
        let faces = self.detector.detect(frame)?;
        let luma = frame.luma();
        let o = self.observation(frame, &faces, &luma, previous_luma.as_deref(), at, eyes)?;
        *previous_luma = Some(luma);
        Ok(o)
    }

    /// The observation of a frame whose faces and luma plane are known; `previous_luma` is
    /// the last frame's (for motion).
    pub(crate) fn observation(
        &self,
        frame: &Frame,
        faces: &[Detection],
        luma: &[u8],
        previous_luma: Option<&[u8]>,
        at: u64,
        eyes: bool,
    ) -> Result<Observation, ModelError> {
        let motion = previous_luma.filter(|p| p.len() == luma.len()).map(|p| {
            let sum: u64 = p
                .iter()
                .zip(luma)
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum();
            sum as f32 / luma.len().max(1) as f32
        });
        let mut o = Observation {
            at,
            faces: faces.len(),
            motion,
            ..Observation::default()
        };
        if let [face] = faces {
            o.yaw = face.yaw_proxy();
            o.roll = face.roll_degrees();
            if eyes && face.yaw_proxy().abs() < MESH_MAX_YAW {
                o.ear = Some(self.eye_openness(frame, face)?);
            }
        }
        Ok(o)
    }

    /// The mean eye aspect ratio of both eyes of `face`.
    pub(crate) fn eye_openness(&self, frame: &Frame, face: &Detection) -> Result<f32, ModelError> {
        let (r, l) = self.mesh.eye_aspect_ratios(frame, face)?;
        Ok((r + l) / 2.0)
    }

    /// Runs a whole liveness answer from `source` until it ends (recorded frames) or
    /// `max_frames` were seen; `clock` gives each frame's time.
    pub fn check_liveness(
        &self,
        challenge: &Challenge,
        source: &mut dyn FrameSource,
        max_frames: usize,
        clock: &mut dyn FnMut() -> u64,
    ) -> Result<Verdict, FaceError> {
        let mut session = Session::new(challenge.clone(), Rules::default());
        let mut previous = None;
        for _ in 0..max_frames {
            let frame = match source.next_frame() {
                Ok(f) => f,
                Err(CaptureError::EndOfStream) => break,
                Err(e) => return Err(e.into()),
            };
            // Eye openness matters while facing front (the open-eye reference) and while
            // blinking; skipping the mesh during turns saves a third of the work.
            let eyes = matches!(
                session.progress().current,
                Some(crate::liveness::Action::Front | crate::liveness::Action::Blink)
            );
            let o = self.observe_with(&frame, clock(), &mut previous, eyes)?;
            session.observe(&o);
        }
        Ok(session.finish())
    }
}
