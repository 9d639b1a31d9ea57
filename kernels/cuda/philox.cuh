// philox.cuh — Philox4x32-10, the counter-based generator every draw comes
// from. Rust twin: src/philox.rs. Included by augment.cu, after abi.cuh.

struct Words {
    u32 w[4];
};

struct Key {
    u32 lo;
    u32 hi;
};

AK_FN Words philox4x32_10(Words c, Key key) {
    const u32 m0 = 0xD2511F53u;
    const u32 m1 = 0xCD9E8D57u;
    u32 k0 = key.lo;
    u32 k1 = key.hi;
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        if (r > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const u32 hi0 = __umulhi(m0, c.w[0]);
        const u32 lo0 = m0 * c.w[0];
        const u32 hi1 = __umulhi(m1, c.w[2]);
        const u32 lo1 = m1 * c.w[2];
        Words n;
        n.w[0] = hi1 ^ c.w[1] ^ k0;
        n.w[1] = lo1;
        n.w[2] = hi0 ^ c.w[3] ^ k1;
        n.w[3] = lo0;
        c = n;
    }
    return c;
}
