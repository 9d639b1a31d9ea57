// draws.wgsl — the distributions built on Philox words: uniform, coin,
// bounded (Lemire), normal (Box–Muller), gamma (Marsaglia–Tsang) and beta.
// Rust twin: src/draws.rs.

fn words(key: vec2<u32>, owner: u32, epoch: u32, slot: u32, sub: u32) -> vec4<u32> {
    return philox4x32_10(vec4<u32>(owner, epoch, slot, sub), key);
}

fn unit(word: u32) -> f32 {
    return f32(word >> 8u) * (1.0 / 16777216.0);
}

fn unit_open_closed(word: u32) -> f32 {
    return f32((word >> 8u) + 1u) * (1.0 / 16777216.0);
}

fn uniform_draw(lo: f32, hi: f32, word: u32) -> f32 {
    return lo + (hi - lo) * unit(word);
}

fn coin(p: f32, word: u32) -> bool {
    return unit(word) < p;
}

// Lemire's multiply-shift with rejection, one attempt per word.
fn bounded(n: u32, w: vec4<u32>) -> u32 {
    let threshold = (0u - n) % n;
    var result = 0u;
    for (var i = 0u; i < 4u; i++) {
        let m = mul_hi_lo(w[i], n);
        result = m.x;
        if m.y >= threshold {
            return result;
        }
    }
    return result;
}

// Box–Muller, cosine branch.
fn normal(w0: u32, w1: u32) -> f32 {
    let radius = sqrt(-2.0 * log(unit_open_closed(w0)));
    return radius * cos(bitcast<f32>(TAU_BITS) * unit(w1));
}

// Marsaglia–Tsang with at most GAMMA_ATTEMPTS attempts.
fn gamma(alpha: f32, key: vec2<u32>, owner: u32, epoch: u32, slot: u32, variate: u32) -> f32 {
    let boosted = alpha < 1.0;
    var a = alpha;
    if boosted {
        a = alpha + 1.0;
    }
    let d = a - 1.0 / 3.0;
    let c = 1.0 / sqrt(9.0 * d);
    var value = d;
    var boost_word = 0u;
    for (var attempt = 0u; attempt < GAMMA_ATTEMPTS; attempt++) {
        let w = words(key, owner, epoch, slot, variate * 16u + attempt);
        boost_word = w.w;
        let x = normal(w.x, w.y);
        let t = 1.0 + c * x;
        if t <= 0.0 {
            continue;
        }
        let v = t * t * t;
        let u = unit_open_closed(w.z);
        if log(u) < 0.5 * x * x + d - d * v + d * log(v) {
            value = d * v;
            break;
        }
    }
    if boosted {
        value *= exp(log(unit_open_closed(boost_word)) / alpha);
    }
    return value;
}

fn beta(alpha: f32, key: vec2<u32>, owner: u32, epoch: u32, slot: u32) -> f32 {
    let x = gamma(alpha, key, owner, epoch, slot, 0u);
    let y = gamma(alpha, key, owner, epoch, slot, 1u);
    let sum = x + y;
    if sum > 0.0 {
        return x / sum;
    }
    return 0.5;
}
