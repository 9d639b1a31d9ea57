//! The shared bench helpers: measurements are positive and consistent, and
//! device backends that cannot start give an error, not a panic.

use augkit_measure as measure;

#[test]
fn cpu_measurement_is_positive_and_self_consistent() {
    let shape = measure::shapes()[0];
    let data = measure::bench_dataset(shape, 64);
    for (technique, policy) in measure::techniques(shape.channels) {
        let job = measure::Job {
            technique,
            policy: &policy,
            dataset: &data,
            batch: 96,
            repeats: 1,
        };
        let m = measure::measure_cpu(&job).unwrap();
        assert!(m.median_s > 0.0 && m.images_per_s > 0.0, "{technique}");
        assert!((m.images_per_s * m.median_s - 96.0).abs() < 1e-6);
        let floor = m.floor_median_s.unwrap();
        assert!((m.ratio_to_floor.unwrap() - m.median_s / floor).abs() < 1e-9);
        assert_eq!(m.shape, [1, 28, 28]);
    }
}

#[test]
fn every_technique_is_valid_for_every_shape() {
    for shape in measure::shapes() {
        let names: Vec<_> = measure::techniques(shape.channels)
            .into_iter()
            .map(|(n, p)| {
                p.compile(shape).unwrap();
                n
            })
            .collect();
        assert!(names.contains(&"full") && names.contains(&"synthetic"));
        assert!(names.contains(&"trivialaugment") && names.contains(&"randaugment"));
        assert!(names.contains(&"erasing") && names.contains(&"pool"));
    }
}

#[test]
fn cuda_measurement_without_a_driver_is_an_error() {
    if augkit::cuda::driver_present() {
        println!("libcuda is present: the no-driver path is not testable here");
        return;
    }
    let shape = measure::shapes()[1];
    let data = measure::bench_dataset(shape, 16);
    let (name, policy) = &measure::techniques(3)[0];
    let job = measure::Job {
        technique: name,
        policy,
        dataset: &data,
        batch: 8,
        repeats: 1,
    };
    let err = measure::measure_cuda(&job).unwrap_err();
    println!("{err}");
}
