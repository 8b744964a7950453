//! A whole liveness answer judged at once, as the issuer (and the wallet, before it sends)
//! has it: every frame is decoded and searched for faces in parallel on rayon's pool, then
//! one liveness [`Session`] judges the frames in order (running the eye mesh only where it
//! needs it) while the matching templates are made from detections already at hand. The
//! work is that of checking frame by frame, minus the repeated detections for the
//! templates; the wall time shrinks with the cores.
//!
//! It also names the *evidence*: the frames that carry each action, so a wallet sends those
//! and not everything its camera caught.

use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::{EnrolledFace, FaceAnalyzer, FaceError};
use crate::frame::{Detection, Frame};
use crate::liveness::{Challenge, Rules, Session, Verdict};
use crate::source::{CaptureError, decode_image_bytes};

/// One decoded frame with its faces.
struct Analysed {
    frame: Frame,
    faces: Vec<Detection>,
    luma: Vec<u8>,
}

/// What one frame was to the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FrameRole {
    /// Index of the action the session was waiting for when it judged the frame (the
    /// number of actions once all were done).
    pub step: usize,
    /// The frame completed that action.
    pub completed: bool,
}

/// The judgement of a whole answer.
#[derive(Debug)]
pub struct AnswerReport {
    /// Liveness.
    pub verdict: Verdict,
    /// Per frame, in order.
    pub roles: Vec<FrameRole>,
    /// The template of the first frame showing exactly one face.
    pub first: Result<EnrolledFace, FaceError>,
    /// The template of the last frame showing exactly one face turned no more than
    /// [`Rules::front_yaw`] (the last one-face frame if none faces front): matching a
    /// frontal face is the most reliable, and the person is still the one at the end.
    pub last: Result<EnrolledFace, FaceError>,
}

impl AnswerReport {
    /// The indices of the frames that carry the answer: for each action, the last
    /// `per_action` frames judged against it, up to and including the one that completed
    /// it. Nothing after the final action. Empty unless the verdict passed.
    ///
    /// The same rules pass on these frames alone (the session only ever looks at the
    /// current action), which is what lets a wallet send them instead of its whole capture.
    pub fn evidence(&self, per_action: usize) -> Vec<usize> {
        if !self.verdict.passed {
            return Vec::new();
        }
        let mut keep = Vec::new();
        let mut start = 0;
        for (i, role) in self.roles.iter().enumerate() {
            if role.completed {
                let from = start.max((i + 1).saturating_sub(per_action.max(1)));
                keep.extend(from..=i);
                start = i + 1;
            }
        }
        keep
    }
}

impl FaceAnalyzer {
    /// Judges `frames` (JPEG or PNG bytes, in the order taken) as the answer to
    /// `challenge`, every frame stamped `now` (see [`FaceAnalyzer::check_liveness`]), and
    /// makes the first and last templates for matching. Runs on rayon's global pool; the
    /// decoded frames are dropped before it returns.
    ///
    /// Errors: a frame that cannot be decoded ([`FaceError::Capture`], naming it) or a model
    /// failure. A failed liveness check is not an error: see [`AnswerReport::verdict`].
    pub fn check_answer(
        &self,
        challenge: &Challenge,
        frames: &[Vec<u8>],
        now: u64,
    ) -> Result<AnswerReport, FaceError> {
        let analysed = frames
            .par_iter()
            .enumerate()
            .map(|(i, bytes)| {
                let frame = decode_image_bytes(bytes).map_err(|reason| CaptureError::Decode {
                    what: format!("frame {i}"),
                    reason,
                })?;
                let faces = self.detect(&frame)?;
                let luma = frame.luma();
                Ok(Analysed { frame, faces, luma })
            })
            .collect::<Result<Vec<_>, FaceError>>()?;
        let rules = Rules::default();
        let single = |a: &Analysed| match a.faces.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        let first = analysed.iter().position(|a| single(a).is_some());
        let last = analysed
            .iter()
            .rposition(|a| single(a).is_some_and(|d| d.yaw_proxy().abs() < rules.front_yaw))
            .or_else(|| analysed.iter().rposition(|a| single(a).is_some()));
        let template = |i: Option<usize>| -> Result<EnrolledFace, FaceError> {
            let i = i.ok_or(FaceError::NoFace)?;
            let a = &analysed[i];
            let detection = single(a).ok_or(FaceError::NoFace)?;
            self.template_of(&a.frame, detection)
        };
        let (judged, (first_t, last_t)) = rayon::join(
            || self.judge(challenge, rules, &analysed, now),
            || {
                if first == last {
                    let t = template(first);
                    let copy = match &t {
                        Ok(face) => Ok(face.clone()),
                        Err(_) => template(last),
                    };
                    (t, copy)
                } else {
                    rayon::join(|| template(first), || template(last))
                }
            },
        );
        let (verdict, roles) = judged?;
        Ok(AnswerReport {
            verdict,
            roles,
            first: first_t,
            last: last_t,
        })
    }

    fn judge(
        &self,
        challenge: &Challenge,
        rules: Rules,
        analysed: &[Analysed],
        now: u64,
    ) -> Result<(Verdict, Vec<FrameRole>), FaceError> {
        let mut session = Session::new(challenge.clone(), rules);
        let mut previous: Option<&[u8]> = None;
        let mut roles = Vec::with_capacity(analysed.len());
        for a in analysed {
            let before = session.progress();
            let eyes = matches!(
                before.current,
                Some(crate::liveness::Action::Front | crate::liveness::Action::Blink)
            );
            let o = self.observation(&a.frame, &a.faces, &a.luma, previous, now, eyes)?;
            previous = Some(&a.luma);
            let after = session.observe(&o);
            roles.push(FrameRole {
                step: before.completed,
                completed: after.completed > before.completed,
            });
        }
        Ok((session.finish(), roles))
    }
}
