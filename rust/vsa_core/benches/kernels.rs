//! Per-frame kernel timings on one core, std only: `cargo bench -p vsa_core`.
//!
//! Prints microseconds per call for the area downscale of a 1280×720 plane and, on a
//! moving-box scene, for the per-frame kernels of a camera with every detector-less signal:
//! `MotionDetector::process`, `DualBackground::update`, `FireDetector::update` (grey chroma:
//! the colour rule runs, nothing is fire) and `MotionField::update` on the plane reduced by 3
//! (as `perception/signals.py` feeds it).

use std::hint::black_box;
use std::time::{Duration, Instant};

use vsa_core::background::{DualBackground, DualConfig};
use vsa_core::fire::{FireConfig, FireDetector};
use vsa_core::flow::{FlowConfig, MotionField};
use vsa_core::image::{downscale_area, PlaneView};
use vsa_core::motion::{MotionConfig, MotionDetector};

const W: usize = 1280;
const H: usize = 720;

/// Best-of-5 mean time per call, each round running for about 0.2 s.
fn time_per_call(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed() < Duration::from_millis(50) {
        f();
        calls += 1;
    }
    let n = (calls * 4).max(1);
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed() / n
        })
        .min()
        .unwrap_or_default()
}

fn scene(step: usize) -> Vec<u8> {
    let (bx, by) = (100 + 8 * (step % 100), 300);
    (0..W * H)
        .map(|i| {
            let (x, y) = (i % W, i / W);
            let texture = ((x / 7 + y / 5) % 120) as u8 + 40;
            let inside = (bx..bx + 40).contains(&x) && (by..by + 110).contains(&y);
            texture + if inside { 50 } else { 0 } + (i * 2_654_435_761 % 7) as u8
        })
        .collect()
}

fn main() {
    let frames: Vec<Vec<u8>> = (0..16).map(scene).collect();
    let plane = PlaneView::packed(&frames[0], W, H).expect("valid plane");
    println!("{:<32} {:>10}", "kernel (1280×720)", "µs/call");
    for factor in [1, 2, 3, 4, 8] {
        let t = time_per_call(|| {
            black_box(downscale_area(black_box(&plane), factor).expect("downscale"));
        });
        println!(
            "{:<32} {:>10.1}",
            format!("downscale_area factor {factor}"),
            t.as_secs_f64() * 1e6
        );
    }
    let mut detector = MotionDetector::new(W, H, MotionConfig::default()).expect("detector");
    let mut i = 0;
    let t = time_per_call(|| {
        let plane = PlaneView::packed(&frames[i % frames.len()], W, H).expect("valid plane");
        black_box(detector.process(&plane).expect("process"));
        i += 1;
    });
    println!(
        "{:<32} {:>10.1}",
        "MotionDetector::process",
        t.as_secs_f64() * 1e6
    );
    let mut dual = DualBackground::new(W, H, DualConfig::default()).expect("background");
    let mut i = 0;
    let t = time_per_call(|| {
        let plane = PlaneView::packed(&frames[i % frames.len()], W, H).expect("valid plane");
        black_box(dual.update(&plane).expect("update"));
        i += 1;
    });
    println!(
        "{:<32} {:>10.1}",
        "DualBackground::update",
        t.as_secs_f64() * 1e6
    );
    let chroma = vec![128u8; (W / 2) * (H / 2)];
    let grey = PlaneView::packed(&chroma, W / 2, H / 2).expect("valid plane");
    let config = FireConfig {
        window: 10,
        period_window: 60,
        ..FireConfig::default()
    };
    let mut fire = FireDetector::new(W, H, config).expect("fire detector");
    let mut i = 0;
    let t = time_per_call(|| {
        let plane = PlaneView::packed(&frames[i % frames.len()], W, H).expect("valid plane");
        black_box(fire.update(&plane, &grey, &grey).expect("update"));
        i += 1;
    });
    println!(
        "{:<32} {:>10.1}",
        "FireDetector::update",
        t.as_secs_f64() * 1e6
    );
    let reduced: Vec<_> = frames
        .iter()
        .map(|f| {
            let plane = PlaneView::packed(f, W, H).expect("valid plane");
            downscale_area(&plane, 3).expect("downscale")
        })
        .collect();
    let mut flow = MotionField::new(W / 3, H / 3, FlowConfig::default()).expect("flow");
    let mut i = 0;
    let t = time_per_call(|| {
        black_box(
            flow.update(&reduced[i % reduced.len()].view())
                .expect("update"),
        );
        i += 1;
    });
    println!(
        "{:<32} {:>10.1}",
        "MotionField::update (÷3)",
        t.as_secs_f64() * 1e6
    );
}
