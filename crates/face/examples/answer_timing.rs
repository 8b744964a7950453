//! Times `check_answer` on each of the six challenge orders, for the whole recording and its
//! evidence: `cargo run --release -p tessera-face --example answer_timing [PERSON]`.

use std::path::Path;
use std::time::Instant;

use tessera_face::analysis::FaceAnalyzer;
use tessera_face::liveness::{Action, Challenge};

fn main() {
    let person = std::env::args().nth(1).unwrap_or_else(|| "obama".into());
    let analyzer = FaceAnalyzer::load().expect("models load");
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/liveness")
        .join(&person);
    for order in 0..6u8 {
        let mut random = [0u8; 17];
        random[16] = order;
        let c = Challenge::from_random(random, 0, u64::MAX / 2);
        let frames: Vec<Vec<u8>> = c
            .actions
            .iter()
            .flat_map(|a| {
                let dir = base.join(match a {
                    Action::Front => "front",
                    Action::TurnLeft => "left",
                    Action::TurnRight => "right",
                    Action::Blink => "blink",
                });
                tessera_face::source::image_files(&dir).expect("frames")
            })
            .map(|p| std::fs::read(p).expect("frame"))
            .collect();
        let report = analyzer.check_answer(&c, &frames, 1).expect("runs");
        let evidence: Vec<Vec<u8>> = report.evidence.iter().map(|&i| frames[i].clone()).collect();
        for (name, set) in [("whole", &frames), ("evidence", &evidence)] {
            let mut times = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                let r = analyzer.check_answer(&c, set, 1).expect("runs");
                assert!(r.verdict.passed);
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "{:?} {name} ({} frames): median {:.0} ms",
                c.actions,
                set.len(),
                times[2]
            );
        }
    }
}
