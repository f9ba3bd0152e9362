/// The one definition of convolution and pooling geometry (WindowGeometry) against Keras' rules, written here.
module Nn.Tests.Runtime.Kernels.WindowGeometryTests

open Expecto
open Nn.Runtime.Kernels

/// TensorFlow/Keras `same` along one axis: out = ⌈h/s⌉, total padding max((out−1)·s + k − h, 0), the odd one after.
let kerasSame h k s =
    let out = (h + s - 1) / s
    let total = max ((out - 1) * s + k - h) 0
    out, total / 2, total - total / 2

/// Keras `valid`: ⌊(h − k)/s⌋ + 1 outputs (none when the window is larger than the image), no padding.
let kerasValid h k s = (if h < k then 0 else (h - k) / s + 1), 0, 0

/// Every h ≤ 64, k ≤ 7, s ≤ 4 (the height and the width given different sizes, so a mixed-up axis shows).
let cases =
    [ for h in 1 .. 64 do
        for k in 1 .. 7 do
          for s in 1 .. 4 -> h, k, s ]

let axes (g: WindowGeometry) = (g.OutHeight, g.PadTop, g.PadBottom), (g.OutWidth, g.PadLeft, g.PadRight)

[<Tests>]
let tests =
    testList "Runtime.Kernels.WindowGeometry" [
        test "same padding is Keras' for every h ≤ 64, k ≤ 7, s ≤ 4 (output size and the four paddings)" {
            for h, k, s in cases do
                let w = 65 - h
                let g = WindowGeometry.Of(h, w, k, k, s, s, Padding.Same)
                Expect.equal (axes g) (kerasSame h k s, kerasSame w k s) (sprintf "h=%d w=%d k=%d s=%d" h w k s)
        }
        test "valid padding is Keras' for every h ≤ 64, k ≤ 7, s ≤ 4" {
            for h, k, s in cases do
                let w = 65 - h
                let g = WindowGeometry.Of(h, w, k, k, s, s, Padding.Valid)
                Expect.equal (axes g) (kerasValid h k s, kerasValid w k s) (sprintf "h=%d w=%d k=%d s=%d" h w k s)
        }
        test "explicit paddings: ⌊(h + before + after − k)/s⌋ + 1, as PyTorch" {
            for h, k, s in cases do
                for before, after in [ 0, 1; 1, 0; 2, 3 ] do
                    let g = WindowGeometry.Of(h, h, k, k, s, s, Padding.Explicit(before, before, after, after))
                    let expected = if h + before + after < k then 0 else (h + before + after - k) / s + 1
                    let what = sprintf "h=%d k=%d s=%d" h k s
                    Expect.equal (g.OutHeight, g.PadTop, g.PadBottom) (expected, before, after) what
        }
        test "the issue's case: 8×8, 3×3, stride 2 pads 0 top/left and 1 bottom/right" {
            let g = WindowGeometry.Of(8, 8, 3, 3, 2, 2, Padding.Same)
            Expect.equal g (WindowGeometry(4, 4, 0, 0, 1, 1)) "Keras' geometry"
            Expect.equal g.Pads [| 0; 0; 1; 1 |] "attribute order: top, left, bottom, right"
        }
        test "a different stride per axis and a rectangular window" {
            let g = WindowGeometry.Of(7, 10, 4, 3, 2, 3, Padding.Same)
            let oh, pt, pb = kerasSame 7 4 2
            let ow, pl, pr = kerasSame 10 3 3
            Expect.equal g (WindowGeometry(oh, ow, pt, pl, pb, pr)) "each axis its own rule"
        }
    ]
