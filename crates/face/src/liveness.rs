//! Active liveness: a server-chosen random sequence of actions (face front, turn left, turn
//! right, blink) that the person performs in front of the camera. A [`Session`] consumes one
//! [`Observation`] per frame (measured by [`crate::analysis`]) and judges the answer. The same
//! code guides the person on the device and re-checks the submitted frames on the issuer.
//!
//! Head turns come from YuNet's five points (the yaw proxy); blinks from the eye aspect ratio
//! of the iris-refined face mesh, as a drop relative to the person's own open-eye value.

use serde::{Deserialize, Serialize};

/// One thing the person is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Look straight at the camera.
    Front,
    /// Turn the head to one's own left.
    TurnLeft,
    /// Turn the head to one's own right.
    TurnRight,
    /// Close both eyes and open them again.
    Blink,
}

impl Action {
    /// The folder name recorded frames use for this action.
    pub fn name(self) -> &'static str {
        match self {
            Action::Front => "front",
            Action::TurnLeft => "left",
            Action::TurnRight => "right",
            Action::Blink => "blink",
        }
    }
}

/// A challenge: the actions, in order, a nonce binding the answer to it, and its lifetime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Random, unique per challenge.
    pub nonce: [u8; 16],
    /// What to do, in order; always starts with [`Action::Front`].
    pub actions: Vec<Action>,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds; frames after this do not count.
    pub expires_at: u64,
}

impl Challenge {
    /// A challenge from 17 random bytes (16 for the nonce, 1 for the order): face front, then
    /// turn left, turn right and blink in one of the 6 orders.
    pub fn from_random(random: [u8; 17], issued_at: u64, lifetime: u64) -> Challenge {
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&random[..16]);
        const ORDERS: [[Action; 3]; 6] = {
            use Action::*;
            [
                [TurnLeft, TurnRight, Blink],
                [TurnLeft, Blink, TurnRight],
                [TurnRight, TurnLeft, Blink],
                [TurnRight, Blink, TurnLeft],
                [Blink, TurnLeft, TurnRight],
                [Blink, TurnRight, TurnLeft],
            ]
        };
        // 256 is not a multiple of 6: the bias (43 vs 42 of 256) does not help an attacker,
        // who must answer whichever order comes.
        let order = ORDERS[usize::from(random[16]) % ORDERS.len()];
        let mut actions = vec![Action::Front];
        actions.extend(order);
        Challenge {
            nonce,
            actions,
            issued_at,
            expires_at: issued_at + lifetime,
        }
    }
}

/// What the analysis saw in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Observation {
    /// When the frame was taken, Unix seconds.
    pub at: u64,
    /// Faces found.
    pub faces: usize,
    /// Yaw proxy of the single face (positive: turned to the person's own left).
    pub yaw: f32,
    /// Roll in degrees.
    pub roll: f32,
    /// Mean eye aspect ratio of both eyes, when measured.
    pub ear: Option<f32>,
    /// Mean absolute luma difference from the previous frame (0 = identical), if known.
    pub motion: Option<f32>,
}

/// The limits the session judges by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// |yaw| below this counts as facing front.
    pub front_yaw: f32,
    /// A turn counts once |yaw| passes this in the asked direction.
    pub turn_yaw: f32,
    /// A blink counts when the EAR drops below this fraction of the open-eye value…
    pub blink_closed_ratio: f32,
    /// …and comes back above this fraction.
    pub blink_reopened_ratio: f32,
    /// Frames whose mean luma difference is below this are copies of each other.
    pub static_motion: f32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            front_yaw: 0.1,
            turn_yaw: 0.15,
            blink_closed_ratio: 0.6,
            blink_reopened_ratio: 0.85,
            static_motion: 0.5,
        }
    }
}

/// Why liveness failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Failure {
    /// These actions were not (all) seen, in order.
    Incomplete {
        /// The first action not completed.
        missing: Action,
    },
    /// The head turned the other way from what was asked.
    WrongAction {
        /// What was asked.
        expected: Action,
    },
    /// The frames do not change: a photo or a frozen video.
    StaticImage,
    /// Another face appeared in the frames.
    MultipleFaces,
    /// Frames came after the challenge expired.
    Expired,
}

/// Progress, for guidance on the device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// What to do now (`None` when all done).
    pub current: Option<Action>,
    /// How many actions are done.
    pub completed: usize,
    /// How many actions there are.
    pub total: usize,
}

/// The final verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// True only if every action was done in order and no failure was seen.
    pub passed: bool,
    /// Every reason it failed.
    pub failures: Vec<Failure>,
    /// Frames observed.
    pub frames: usize,
}

/// One answer to one challenge, consumed frame by frame.
#[derive(Debug, Clone)]
pub struct Session {
    challenge: Challenge,
    rules: Rules,
    step: usize,
    open_ear: Option<f32>,
    eyes_closed: bool,
    /// Back to facing front since the last completed action (a person turning back from one
    /// side passes through the other actions' directions only after this).
    settled: bool,
    frames: usize,
    moving_frames: usize,
    compared_frames: usize,
    failures: Vec<Failure>,
}

impl Session {
    /// Starts judging an answer to `challenge`.
    pub fn new(challenge: Challenge, rules: Rules) -> Session {
        Session {
            challenge,
            rules,
            step: 0,
            open_ear: None,
            eyes_closed: false,
            settled: true,
            frames: 0,
            moving_frames: 0,
            compared_frames: 0,
            failures: Vec::new(),
        }
    }

    /// The challenge being answered.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The open-eye reference so far: the widest eye aspect ratio seen facing front.
    pub fn open_eye_reference(&self) -> Option<f32> {
        self.open_ear
    }

    /// The eyes were seen closed in the blink under way.
    pub fn eyes_closed(&self) -> bool {
        self.eyes_closed
    }

    fn fail(&mut self, f: Failure) {
        if !self.failures.contains(&f) {
            self.failures.push(f);
        }
    }

    /// Takes one frame's observation.
    pub fn observe(&mut self, o: &Observation) -> Progress {
        self.frames += 1;
        if o.at > self.challenge.expires_at {
            self.fail(Failure::Expired);
        }
        if let Some(m) = o.motion {
            self.compared_frames += 1;
            if m >= self.rules.static_motion {
                self.moving_frames += 1;
            }
        }
        match o.faces {
            0 => return self.progress(),
            1 => {}
            _ => {
                self.fail(Failure::MultipleFaces);
                return self.progress();
            }
        }
        if let Some(ear) = o.ear
            && o.yaw.abs() < self.rules.front_yaw
            && !self.eyes_closed
        {
            // The open-eye reference is the widest the eyes were while facing front.
            self.open_ear = Some(self.open_ear.map_or(ear, |e| e.max(ear)));
        }
        let Some(&action) = self.challenge.actions.get(self.step) else {
            return self.progress();
        };
        let r = self.rules;
        if o.yaw.abs() < r.front_yaw {
            self.settled = true;
        }
        let wrong_way = self.settled;
        let done = match action {
            Action::Front => o.yaw.abs() < r.front_yaw,
            Action::TurnLeft => {
                if wrong_way && o.yaw < -r.turn_yaw {
                    self.fail(Failure::WrongAction { expected: action });
                }
                o.yaw > r.turn_yaw
            }
            Action::TurnRight => {
                if wrong_way && o.yaw > r.turn_yaw {
                    self.fail(Failure::WrongAction { expected: action });
                }
                o.yaw < -r.turn_yaw
            }
            Action::Blink => match (o.ear, self.open_ear) {
                (Some(ear), Some(open)) if o.yaw.abs() < r.turn_yaw => {
                    if ear < open * r.blink_closed_ratio {
                        self.eyes_closed = true;
                    }
                    self.eyes_closed && ear > open * r.blink_reopened_ratio
                }
                _ => false,
            },
        };
        if done {
            self.step += 1;
            self.eyes_closed = false;
            self.settled = o.yaw.abs() < r.front_yaw;
        }
        self.progress()
    }

    /// Where the person is.
    pub fn progress(&self) -> Progress {
        Progress {
            current: self.challenge.actions.get(self.step).copied(),
            completed: self.step.min(self.challenge.actions.len()),
            total: self.challenge.actions.len(),
        }
    }

    /// The verdict over all frames seen.
    pub fn finish(mut self) -> Verdict {
        // A live face moves between nearly every pair of frames (sensor noise alone does);
        // copies of one picture do not.
        if self.compared_frames > 0 && self.moving_frames * 2 < self.compared_frames {
            self.fail(Failure::StaticImage);
        }
        if let Some(&missing) = self.challenge.actions.get(self.step) {
            self.fail(Failure::Incomplete { missing });
        }
        Verdict {
            passed: self.failures.is_empty(),
            failures: self.failures,
            frames: self.frames,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(order: u8) -> Challenge {
        let mut r = [7u8; 17];
        r[16] = order;
        Challenge::from_random(r, 1000, 120)
    }

    fn obs(yaw: f32, ear: f32) -> Observation {
        Observation {
            at: 1010,
            faces: 1,
            yaw,
            roll: 0.0,
            ear: Some(ear),
            motion: Some(1.2),
        }
    }

    fn frames_for(action: Action) -> Vec<Observation> {
        match action {
            Action::Front => vec![obs(0.0, 0.3), obs(0.01, 0.31)],
            Action::TurnLeft => [0.0, 0.08, 0.16, 0.24]
                .iter()
                .map(|&y| obs(y, 0.3))
                .collect(),
            Action::TurnRight => [0.0, -0.08, -0.16, -0.24]
                .iter()
                .map(|&y| obs(y, 0.3))
                .collect(),
            Action::Blink => [0.3, 0.2, 0.12, 0.2, 0.3]
                .iter()
                .map(|&e| obs(0.0, e))
                .collect(),
        }
    }

    fn run(c: &Challenge, answer: &[Action]) -> Verdict {
        let mut s = Session::new(c.clone(), Rules::default());
        for a in answer {
            for o in frames_for(*a) {
                s.observe(&o);
            }
        }
        s.finish()
    }

    #[test]
    fn every_order_is_possible_and_starts_front() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = challenge(b);
            assert_eq!(c.actions[0], Action::Front);
            assert_eq!(c.actions.len(), 4);
            seen.insert(c.actions.clone());
        }
        assert_eq!(seen.len(), 6);
    }

    #[test]
    fn the_right_answer_passes() {
        for b in 0..6 {
            let c = challenge(b);
            let v = run(&c, &c.actions);
            assert!(v.passed, "{:?}: {v:?}", c.actions);
        }
    }

    #[test]
    fn a_wrong_order_or_missing_action_fails() {
        let c = challenge(0); // front, left, right, blink
        let v = run(
            &c,
            &[
                Action::Front,
                Action::TurnRight,
                Action::TurnLeft,
                Action::Blink,
            ],
        );
        assert!(!v.passed);
        assert!(
            v.failures.contains(&Failure::WrongAction {
                expected: Action::TurnLeft
            }),
            "{v:?}"
        );
        let v = run(&c, &[Action::Front, Action::TurnLeft, Action::TurnRight]);
        assert_eq!(
            v.failures,
            [Failure::Incomplete {
                missing: Action::Blink
            }]
        );
    }

    #[test]
    fn a_blink_needs_the_eyes_to_close_relative_to_their_open_value() {
        let c = challenge(4); // front, blink, left, right
        let mut s = Session::new(c, Rules::default());
        s.observe(&obs(0.0, 0.3));
        s.observe(&obs(0.0, 0.3)); // front done
        for e in [0.29, 0.27, 0.28, 0.3] {
            s.observe(&obs(0.0, e)); // eyes barely move: no blink
        }
        assert_eq!(s.progress().current, Some(Action::Blink));
        s.observe(&obs(0.0, 0.15));
        s.observe(&obs(0.0, 0.29));
        assert_eq!(s.progress().current, Some(Action::TurnLeft));
    }

    #[test]
    fn identical_frames_fail_as_static() {
        let c = challenge(0);
        let mut s = Session::new(c.clone(), Rules::default());
        for a in &c.actions {
            for mut o in frames_for(*a) {
                o.motion = Some(0.0);
                s.observe(&o);
            }
        }
        assert_eq!(s.finish().failures, [Failure::StaticImage]);
    }

    #[test]
    fn late_frames_and_extra_faces_fail() {
        let c = challenge(0);
        let mut s = Session::new(c.clone(), Rules::default());
        s.observe(&Observation {
            faces: 2,
            ..obs(0.0, 0.3)
        });
        s.observe(&Observation {
            at: 2000,
            ..obs(0.0, 0.3)
        });
        let v = s.finish();
        assert!(v.failures.contains(&Failure::MultipleFaces));
        assert!(v.failures.contains(&Failure::Expired));
    }
}
