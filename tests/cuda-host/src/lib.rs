//! Host emulation of `kernels/cuda/augment.cu` (test-only).
