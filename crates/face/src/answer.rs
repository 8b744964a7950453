//! A whole liveness answer judged at once, as the issuer (and the wallet, before it sends)
//! has it, in three stages spread over every core with rayon:
//!
//! 1. every frame is decoded and searched for faces (parallel);
//! 2. one liveness [`Session`] judges the frames in order; where it needs the eye openness
//!    (during *front* and *blink*, on a roughly frontal face) it is measured for that frame
//!    and the next ones the session may ask about, one per core (parallel batches);
//! 3. the matching templates are made at the frames that completed the frontal actions
//!    (parallel).
//!
//! The verdict is the one frame-by-frame checking gives. It also names the *evidence*: the
//! frames that carry each action, so a wallet sends those and not everything its camera
//! caught — checked to pass again on their own before they are offered.

use std::collections::BTreeSet;

use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::{EnrolledFace, FaceAnalyzer, FaceError, MESH_MAX_YAW};
use crate::frame::{Detection, Frame};
use crate::liveness::{Action, Challenge, Observation, Rules, Session, Verdict};
use crate::source::{CaptureError, decode_image_bytes};

/// How many frames per head turn (and for *front*) the evidence keeps, up to the one that
/// completed the action: the rules judge a turn on the frame that completes it, and the
/// one before shows the motion towards it. A blink keeps every frame from the one where the
/// eyes closed.
pub const EVIDENCE_FRAMES_PER_ACTION: usize = 2;

/// One decoded frame with its faces.
struct Analysed {
    frame: Frame,
    faces: Vec<Detection>,
    luma: Vec<u8>,
}

impl Analysed {
    fn single(&self) -> Option<&Detection> {
        match self.faces.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// What one frame was to the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct FrameRole {
    /// Index of the action the session was waiting for when it judged the frame (the
    /// number of actions once all were done).
    pub step: usize,
    /// The frame completed that action.
    pub completed: bool,
    /// The frame raised the open-eye reference a blink is measured against.
    pub raises_open_reference: bool,
    /// The eyes were first seen closed, in a blink, on this frame.
    pub closes_eyes: bool,
}

/// A session that remembers what each frame was to it.
struct Judge {
    session: Session,
    roles: Vec<FrameRole>,
}

impl Judge {
    fn new(challenge: &Challenge, rules: Rules) -> Judge {
        Judge {
            session: Session::new(challenge.clone(), rules),
            roles: Vec::new(),
        }
    }

    /// Whether the session would look at the eyes of the next frame.
    fn wants_eyes(&self) -> bool {
        matches!(
            self.session.progress().current,
            Some(Action::Front | Action::Blink)
        )
    }

    fn observe(&mut self, o: &Observation) {
        let before = self.session.progress();
        let reference = self.session.open_eye_reference();
        let closed = self.session.eyes_closed();
        let after = self.session.observe(o);
        self.roles.push(FrameRole {
            step: before.completed,
            completed: after.completed > before.completed,
            raises_open_reference: self.session.open_eye_reference() != reference,
            closes_eyes: !closed && self.session.eyes_closed(),
        });
    }

    fn finish(self) -> (Verdict, Vec<FrameRole>) {
        (self.session.finish(), self.roles)
    }
}

/// Judges observations in order: the verdict and each frame's role.
pub fn judge_observations(
    challenge: &Challenge,
    rules: Rules,
    observations: &[Observation],
) -> (Verdict, Vec<FrameRole>) {
    let mut judge = Judge::new(challenge, rules);
    observations.iter().for_each(|o| judge.observe(o));
    judge.finish()
}

/// The evidence of a passed answer from its frames' roles: for each action, the last
/// `per_action` frames judged against it up to the one that completed it; for a blink also
/// every frame from the one where the eyes closed, and the frame that set the open-eye
/// reference, so the blink is measured against the same reference. Nothing after the final
/// action. Indices in order.
pub fn pick_evidence(roles: &[FrameRole], actions: &[Action], per_action: usize) -> Vec<usize> {
    let mut keep = BTreeSet::new();
    let mut start = 0;
    let mut reference = None;
    let mut closed_at = None;
    for (i, role) in roles.iter().enumerate() {
        if role.raises_open_reference {
            reference = Some(i);
        }
        if role.closes_eyes {
            closed_at = Some(i);
        }
        if role.completed {
            keep.extend(start.max((i + 1).saturating_sub(per_action.max(1)))..=i);
            if actions.get(role.step) == Some(&Action::Blink) {
                keep.extend(closed_at.map_or(i, |c| c.max(start))..=i);
                keep.extend(reference);
            }
            closed_at = None;
            start = i + 1;
        }
    }
    keep.into_iter().collect()
}

/// The judgement of a whole answer.
#[derive(Debug)]
pub struct AnswerReport {
    /// Liveness.
    pub verdict: Verdict,
    /// Per frame, in order.
    pub roles: Vec<FrameRole>,
    /// The indices of the frames that carry the answer ([`pick_evidence`] with
    /// [`EVIDENCE_FRAMES_PER_ACTION`]), judged again on their own and found to pass; every
    /// frame if they did not. Empty unless the verdict passed.
    pub evidence: Vec<usize>,
    /// The template of the frame that completed the first frontal action (*front*, or
    /// *blink* if there is no *front*); [`FaceError::NotAnswered`] when the verdict failed.
    pub first: Result<EnrolledFace, FaceError>,
    /// The template of the frame that completed the last frontal action (usually *blink*:
    /// a live face with its eyes just reopened, which a photo cannot give).
    pub last: Result<EnrolledFace, FaceError>,
}

impl FaceAnalyzer {
    /// Judges `frames` (JPEG or PNG bytes, in the order taken) as the answer to
    /// `challenge`, every frame stamped `now` (see [`FaceAnalyzer::check_liveness`]), picks
    /// its evidence and makes the templates for matching. Runs on rayon's global pool; the
    /// decoded frames are dropped before it returns.
    ///
    /// Errors: a frame that cannot be decoded ([`FaceError::Capture`], naming the first
    /// such frame) or a model failure. A failed liveness check is not an error: see
    /// [`AnswerReport::verdict`].
    pub fn check_answer(
        &self,
        challenge: &Challenge,
        frames: &[Vec<u8>],
        now: u64,
    ) -> Result<AnswerReport, FaceError> {
        let analysed: Vec<Analysed> = frames
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
            // Collected in full first, so the error named is the first bad frame's.
            .collect::<Vec<Result<_, FaceError>>>()
            .into_iter()
            .collect::<Result<_, _>>()?;
        let rules = Rules::default();
        let everything: Vec<usize> = (0..analysed.len()).collect();

        let mut ears: Vec<Option<f32>> = vec![None; analysed.len()];
        let (verdict, roles) =
            self.judge(challenge, rules, &analysed, &everything, &mut ears, now)?;
        let evidence = if verdict.passed {
            let picked = pick_evidence(&roles, &challenge.actions, EVIDENCE_FRAMES_PER_ACTION);
            let (again, _) = self.judge(challenge, rules, &analysed, &picked, &mut ears, now)?;
            if again.passed { picked } else { everything }
        } else {
            Vec::new()
        };

        let completions: Vec<(usize, Action)> = roles
            .iter()
            .enumerate()
            .filter(|(_, r)| r.completed)
            .filter_map(|(i, r)| challenge.actions.get(r.step).map(|a| (i, *a)))
            .collect();
        let frontal: Vec<usize> = completions
            .iter()
            .filter(|(_, a)| matches!(a, Action::Front | Action::Blink))
            .map(|(i, _)| *i)
            .collect();
        let any: Vec<usize> = completions.iter().map(|(i, _)| *i).collect();
        // A failed answer is refused whatever the faces: it gets no templates (and costs an
        // attacker's retries less work).
        let chosen: &[usize] = match (verdict.passed, frontal.is_empty()) {
            (false, _) => &[],
            (true, false) => &frontal,
            (true, true) => &any,
        };
        let (first, last) = (chosen.first().copied(), chosen.last().copied());
        let template = |i: Option<usize>| -> Result<EnrolledFace, FaceError> {
            let a = &analysed[i.ok_or(FaceError::NotAnswered)?];
            self.template_of(&a.frame, *a.single().ok_or(FaceError::NoFace)?)
        };
        let (first_t, last_t) = if first == last {
            let t = template(first);
            let copy = match &t {
                Ok(face) => Ok(face.clone()),
                Err(_) => template(last),
            };
            (t, copy)
        } else {
            rayon::join(|| template(first), || template(last))
        };
        Ok(AnswerReport {
            verdict,
            roles,
            evidence,
            first: first_t,
            last: last_t,
        })
    }

    /// The next frames of `order` whose eye openness the session in `judge` may ask for,
    /// not yet measured, at most `count`: a copy of the session run on without eyes finds
    /// them, since only the end of a blink depends on the eyes (so past a blink's end this
    /// guesses a frame or two too many).
    fn upcoming_eye_frames(
        &self,
        judge: &Judge,
        analysed: &[Analysed],
        order: &[usize],
        ears: &[Option<f32>],
        count: usize,
        now: u64,
    ) -> Result<Vec<usize>, FaceError> {
        let mut ahead = Judge {
            session: judge.session.clone(),
            roles: Vec::new(),
        };
        let mut found = Vec::new();
        for &i in order {
            let a = &analysed[i];
            let frontal = a
                .single()
                .is_some_and(|f| f.yaw_proxy().abs() < MESH_MAX_YAW);
            if ahead.wants_eyes() && frontal && ears[i].is_none() {
                found.push(i);
                if found.len() == count {
                    break;
                }
            }
            ahead.observe(&self.observation(&a.frame, &a.faces, &a.luma, None, now, false)?);
        }
        Ok(found)
    }

    /// Judges the frames at `order` (indices into `analysed`) in that order, as one answer.
    /// Eye openness comes from `ears`, measured (and kept there) where it is missing.
    fn judge(
        &self,
        challenge: &Challenge,
        rules: Rules,
        analysed: &[Analysed],
        order: &[usize],
        ears: &mut [Option<f32>],
        now: u64,
    ) -> Result<(Verdict, Vec<FrameRole>), FaceError> {
        let mut judge = Judge::new(challenge, rules);
        let mut previous: Option<&[u8]> = None;
        let threads = rayon::current_num_threads().max(1);
        for (position, &i) in order.iter().enumerate() {
            let a = &analysed[i];
            let mut o = self.observation(&a.frame, &a.faces, &a.luma, previous, now, false)?;
            if let Some(face) = a.single()
                && judge.wants_eyes()
                && face.yaw_proxy().abs() < MESH_MAX_YAW
            {
                if ears[i].is_none() {
                    // This frame and the next ones the session may ask about, one per core.
                    let batch = self.upcoming_eye_frames(
                        &judge,
                        analysed,
                        &order[position..],
                        ears,
                        threads,
                        now,
                    )?;
                    let measured = batch
                        .par_iter()
                        .filter_map(|&j| {
                            let a = &analysed[j];
                            a.single()
                                .map(|f| self.eye_openness(&a.frame, f).map(|e| (j, e)))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    for (j, ear) in measured {
                        ears[j] = Some(ear);
                    }
                }
                let ear = match ears[i] {
                    Some(ear) => ear,
                    None => self.eye_openness(&a.frame, face)?,
                };
                ears[i] = Some(ear);
                o.ear = Some(ear);
            }
            previous = Some(&a.luma);
            judge.observe(&o);
        }
        Ok(judge.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(yaw: f32, ear: Option<f32>) -> Observation {
        Observation {
            at: 10,
            faces: 1,
            yaw,
            roll: 0.0,
            ear,
            motion: Some(1.0),
        }
    }

    fn challenge(actions: &[Action]) -> Challenge {
        Challenge {
            nonce: [3; 16],
            actions: actions.to_vec(),
            issued_at: 0,
            expires_at: 100,
        }
    }

    fn subset(all: &[Observation], keep: &[usize]) -> Vec<Observation> {
        keep.iter().map(|&i| all[i]).collect()
    }

    #[test]
    fn a_slow_blink_keeps_its_closing_frame_and_its_reference() {
        use Action::*;
        let c = challenge(&[Front, TurnLeft, Blink]);
        // Widest eyes early, a turn, then eyes closing and reopening slowly over many
        // frames: the last three frames alone never show the eyes closed.
        let all = vec![
            obs(0.0, Some(0.30)), // front done; the open-eye reference
            obs(0.05, Some(0.27)),
            obs(0.10, None),
            obs(0.20, None), // left done
            obs(0.0, Some(0.26)),
            obs(0.0, Some(0.15)), // closed: below 0.6 × 0.30
            obs(0.0, Some(0.19)),
            obs(0.0, Some(0.21)),
            obs(0.0, Some(0.23)),
            obs(0.0, Some(0.26)), // reopened: above 0.85 × 0.30
            obs(0.0, Some(0.30)), // after the last action
        ];
        let (verdict, roles) = judge_observations(&c, Rules::default(), &all);
        assert!(verdict.passed, "{verdict:?}");
        assert!(roles[0].raises_open_reference && roles[5].closes_eyes);

        let naive: Vec<usize> = vec![0, 1, 2, 3, 7, 8, 9];
        let (v, _) = judge_observations(&c, Rules::default(), &subset(&all, &naive));
        assert!(!v.passed, "the case must be one the last frames alone fail");

        let picked = pick_evidence(&roles, &c.actions, 3);
        assert_eq!(picked, vec![0, 1, 2, 3, 5, 6, 7, 8, 9]);
        let (v, _) = judge_observations(&c, Rules::default(), &subset(&all, &picked));
        assert!(v.passed, "{v:?}");
    }

    #[test]
    fn evidence_stops_at_the_final_action_and_keeps_at_most_n_per_turn() {
        use Action::*;
        let c = challenge(&[Front, TurnRight]);
        let mut all = vec![obs(0.0, Some(0.3))];
        all.extend((0..9).map(|k| obs(-0.02 * k as f32, None))); // right done at k = 8
        all.push(obs(0.0, None));
        let (verdict, roles) = judge_observations(&c, Rules::default(), &all);
        assert!(verdict.passed, "{verdict:?}");
        assert!(roles[9].completed && !roles[8].completed);
        assert_eq!(pick_evidence(&roles, &c.actions, 3), vec![0, 7, 8, 9]);
        assert_eq!(pick_evidence(&roles, &c.actions, 1), vec![0, 9]);
    }
}
