use std::time::Instant;
use vsa_core::image::{downscale_area, PlaneView};
use vsa_core::motion::{MotionConfig, MotionDetector};
fn main() {
    let (w, h) = (1280usize, 720usize);
    let mut s = 1u64;
    let data: Vec<u8> = (0..w * h).map(|_| { s ^= s << 13; s ^= s >> 7; s ^= s << 17; (s >> 24) as u8 }).collect();
    let plane = PlaneView::packed(&data, w, h).unwrap();
    for f in [1, 2, 4, 7, 8] {
        let n = 2000;
        let t = Instant::now();
        let mut acc = 0u64;
        for _ in 0..n { acc += downscale_area(&plane, f).unwrap().as_slice()[0] as u64; }
        println!("factor {f}: {:.1} us ({acc})", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    let smooth: Vec<u8> = (0..w*h).map(|i| (((i % w) / 7 + (i / w) / 5) % 200) as u8 + 20).collect();
    for (name, d) in [("random", &data), ("smooth", &smooth)] {
        let mut det = MotionDetector::new(w, h, MotionConfig::default()).unwrap();
        let p = PlaneView::packed(d, w, h).unwrap();
        for _ in 0..10 { det.process(&p).unwrap(); }
        let n = 2000;
        let t = Instant::now();
        for _ in 0..n { det.process(&p).unwrap(); }
        println!("process {name}: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
}
