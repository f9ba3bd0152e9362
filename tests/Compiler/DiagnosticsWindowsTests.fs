/// Errors of `conv1d`, the 1-d and global poolings and `upsample2d` (NN0225–NN0229): each program with its exact
/// rendered diagnostic.
module Nn.Tests.Compiler.DiagnosticsWindowsTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Windows" [
        case "NN0225 conv1d on a rank other than 3" errors
            """
network t (x: [n, 8]) =
    param k : [3, 8, 4] = he
    conv1d { stride = 1; padding = same } k x
"""
            """
test.nn(3,5): error NN0225: `conv1d` needs a sequence [n, t, c], but the value is [n, 8]
  |
3 |     conv1d { stride = 1; padding = same } k x
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0225 conv1d channels" errors
            """
network t (x: [n, 8, 2]) =
    param k : [3, 3, 4] = he
    conv1d { stride = 1; padding = same } k x
"""
            ("""
test.nn(3,5): error NN0225: `conv1d` needs the sequence's channels (its last axis, 2) to equal the"""
             + """ kernel's input channels (its second axis, 3), but the sequence is [n, 8, 2] and the kernel"""
             + """ is [3, 3, 4]
  |
3 |     conv1d { stride = 1; padding = same } k x
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^""")

        case "NN0225 a 1-d pooling of an image" errors
            """
network t (x: [n, 4, 2, 1]) =
    x |> avgPool1d 2
"""
            """
test.nn(2,10): error NN0225: `avgPool1d` needs a sequence [n, t, c], but the value is [n, 4, 2, 1]
  |
2 |     x |> avgPool1d 2
  |          ^^^^^^^^^^^"""

        case "NN0226 conv1d kernel longer than the sequence" errors
            """
network t (x: [n, 4, 2]) =
    param k : [5, 2, 4] = he
    conv1d { stride = 1; padding = valid } k x
"""
            """
test.nn(3,5): error NN0226: `conv1d`: the kernel's length 5 is larger than the sequence [n, 4, 2]
  |
3 |     conv1d { stride = 1; padding = valid } k x
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0226 conv1d kernel longer than the padded sequence" errors
            """
network t (x: [n, 4, 2]) =
    param k : [7, 2, 4] = he
    conv1d { padding = 1 } k x
"""
            """
test.nn(3,5): error NN0226: `conv1d`: the kernel's length 7 is larger than the sequence [n, 4, 2] padded by 2
  |
3 |     conv1d { padding = 1 } k x
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0226 pooling window larger than the sequence" errors
            """
network t (x: [n, 4, 2]) =
    x |> maxPool1d 5
"""
            """
test.nn(2,10): error NN0226: `maxPool1d` window 5 is larger than the sequence [n, 4, 2]
  |
2 |     x |> maxPool1d 5
  |          ^^^^^^^^^^^"""

        case "NN0227 a global pooling without a middle axis" errors
            """
network t (x: [n, 4]) =
    globalAvgPool x
"""
            ("""
test.nn(2,5): error NN0227: `globalAvgPool` needs a tensor [n, ..., c] with an axis between the first"""
             + """ and the last, but the value is [n, 4]
  |
2 |     globalAvgPool x
  |     ^^^^^^^^^^^^^^^""")

        case "NN0228 upsample2d by a fraction" errors
            """
network t (x: [n, 4, 4, 1]) =
    upsample2d 1.5 x
"""
            """
test.nn(2,16): error NN0228: `upsample2d` needs a positive whole factor, got 1.5
  |
2 |     upsample2d 1.5 x
  |                ^^^"""

        case "NN0228 upsample2d by 0" errors
            """
network t (x: [n, 4, 4, 1]) =
    upsample2d 0 x
"""
            """
test.nn(2,16): error NN0228: `upsample2d` needs a positive whole factor, got 0
  |
2 |     upsample2d 0 x
  |                ^"""

        case "NN0229 upsample2d of a vector" errors
            """
network t (x: [n, 16]) =
    upsample2d 2 x
"""
            ("""
test.nn(2,5): error NN0229: `upsample2d` needs an image [n, h, w, c] of fixed height and width, but the"""
             + """ value is [n, 16]
  |
2 |     upsample2d 2 x
  |     ^^^^^^^^^^^^^^""")

    ]
