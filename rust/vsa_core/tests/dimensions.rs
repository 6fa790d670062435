//! Absurd frame dimensions are typed errors, never an allocation abort (the process would die:
//! a failed allocation is not a panic, so nothing could catch it).

use vsa_core::background::{DualBackground, DualConfig};
use vsa_core::detect::Letterbox;
use vsa_core::fire::{FireConfig, FireDetector};
use vsa_core::flow::{FlowConfig, MotionField};
use vsa_core::image::{check_frame_size, try_filled, PlaneError, MAX_PIXELS, MAX_SIDE};
use vsa_core::motion::{BackgroundModel, MotionConfig, MotionDetector};

/// Sizes no camera sends: each side alone too long, and an area too large with legal sides.
const ABSURD: [(usize, usize); 4] = [
    (1_000_000, 1_000_000),
    (MAX_SIDE + 1, 16),
    (16, MAX_SIDE + 1),
    (MAX_SIDE, MAX_PIXELS / MAX_SIDE + 1),
];

#[test]
fn frame_size_bounds() {
    assert!(check_frame_size(7680, 4320).is_ok()); // 8K UHD
    assert!(check_frame_size(MAX_SIDE, MAX_PIXELS / MAX_SIDE).is_ok());
    for (w, h) in ABSURD {
        assert_eq!(
            check_frame_size(w, h),
            Err(PlaneError::Oversize {
                width: w,
                height: h
            })
        );
    }
    assert!(matches!(
        check_frame_size(0, 10),
        Err(PlaneError::Empty { .. })
    ));
}

#[test]
fn refused_allocation_is_an_error() {
    let err = try_filled(0u64, usize::MAX / 4).unwrap_err();
    assert!(matches!(err, PlaneError::OutOfMemory { .. }), "{err}");
    assert_eq!(try_filled(7u8, 3).unwrap(), vec![7, 7, 7]);
}

#[test]
fn every_frame_sized_kernel_refuses_absurd_sizes() {
    for (w, h) in ABSURD {
        let motion = MotionDetector::new(w, h, MotionConfig::default()).unwrap_err();
        assert!(motion.to_string().contains("too large"), "{motion}");
        assert!(BackgroundModel::new(w, h, 0.05).is_err());
        let dual = DualBackground::new(w, h, DualConfig::default()).unwrap_err();
        assert!(dual.to_string().contains("too large"), "{dual}");
        let fire = FireDetector::new(w, h, FireConfig::default()).unwrap_err();
        assert!(fire.to_string().contains("too large"), "{fire}");
        let flow = MotionField::new(w, h, FlowConfig::default()).unwrap_err();
        assert!(flow.to_string().contains("too large"), "{flow}");
        let fit = Letterbox::fit(w, h, 416, 416, true, false).unwrap_err();
        assert!(fit.to_string().contains("too large"), "{fit}");
        assert!(Letterbox::fit(640, 480, w, h, true, false).is_err());
    }
}

#[test]
fn fire_ring_buffers_are_bounded() {
    let config = FireConfig {
        cell: 2,
        window: 10_000,
        ..FireConfig::default()
    };
    let err = FireDetector::new(4096, 4096, config).unwrap_err();
    assert!(err.to_string().contains("shorter window"), "{err}");
    assert!(FireDetector::new(1280, 720, FireConfig::default()).is_ok());
}
