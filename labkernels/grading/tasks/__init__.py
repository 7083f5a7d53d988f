"""The exercises, one module each, in course order. Importing this package registers them."""
from . import (  # noqa: F401
    ex01_unpack_int4,
    ex02_fp16_gemv,
    ex03_mxfp4_decode,
    ex04_predict_crossover,
    ex05_w4a16_gemv,
    ex06_dp4a_dot,
    ex07_mma_fragment,
)
