use std::time::Instant;
use vsa_core::motion::{close_open, BackgroundModel, Labeller};
fn t<F: FnMut()>(name: &str, mut f: F) {
    for _ in 0..10 { f(); }
    let n = 5000;
    let s = Instant::now();
    for _ in 0..n { f(); }
    println!("{name}: {:.1} us", s.elapsed().as_secs_f64() * 1e6 / n as f64);
}
fn main() {
    let (w, h) = (320usize, 180usize);
    let small: Vec<u8> = (0..w*h).map(|i| (((i % w) / 2 + (i / w)) % 200) as u8 + 20).collect();
    let mut model = BackgroundModel::new(w, h, 0.05).unwrap();
    model.initialise(&small).unwrap();
    let mut mask = vec![0u8; w*h];
    let mut scratch = Vec::new();
    let mut lab = Labeller::new();
    t("offset", || { std::hint::black_box(model.illumination_offset(&small).unwrap()); });
    t("classify", || { model.classify(&small, 0.0, 20.0, &mut mask).unwrap(); });
    t("close_open", || { close_open(&mut mask, w, h, &mut scratch); });
    let m2 = mask.clone();
    t("update", || { model.update(&small, &m2, 0.0, 0.05).unwrap(); });
    t("label", || { std::hint::black_box(lab.find(&mask, w, h, 25)); });
    let blocks: Vec<u8> = (0..w*h).map(|i| if (i % w) % 20 < 10 && (i / w) % 20 < 10 {255} else {0}).collect();
    t("label blocks", || { std::hint::black_box(lab.find(&blocks, w, h, 25)); });
    let mut bm = blocks.clone();
    t("close_open blocks", || { bm.copy_from_slice(&blocks); close_open(&mut bm, w, h, &mut scratch); });
}
