//! Deterministic test data without dependencies: xorshift noise and a textured scene.

pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately normal (sum of 12 uniforms), mean 0, standard deviation `sigma`.
    pub(crate) fn gaussian(&mut self, sigma: f64) -> f64 {
        let s: f64 = (0..12).map(|_| self.uniform()).sum();
        (s - 6.0) * sigma
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next_u64() >> 24) as u8).collect()
    }
}

/// A smooth, textured background in 40..=200 (no saturation when noise or drift is added).
pub(crate) fn textured_scene(width: usize, height: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x as f64, y as f64);
            let v = 120.0
                + 40.0 * (fx / 37.0).sin() * (fy / 23.0).cos()
                + 30.0 * ((fx + 2.0 * fy) / 11.0).sin();
            out.push(v.clamp(40.0, 200.0));
        }
    }
    out
}

/// `scene + offset + N(0, sigma)`, rounded and clamped to bytes.
pub(crate) fn noisy_frame(scene: &[f64], offset: f64, sigma: f64, rng: &mut Rng) -> Vec<u8> {
    scene
        .iter()
        .map(|&v| (v + offset + rng.gaussian(sigma)).round().clamp(0.0, 255.0) as u8)
        .collect()
}
