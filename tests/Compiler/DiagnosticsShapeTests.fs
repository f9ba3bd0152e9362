/// Shape errors (NN02xx): each program with its exact rendered diagnostic, found before any data is read.
module Nn.Tests.Compiler.DiagnosticsShapeTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Shape" [
        case "NN0201 broadcasting names both shapes and the axis" errors
            """
network t (x: [n, 4]) : [n, 4] =
    param b : [5] = zeros
    x + b
"""
            ("""
test.nn(3,5): error NN0201: the operands of `+` cannot be broadcast together: the left side is [n, 4] and the right"""
             + """ side is [5] (axis 1 of the result: 4 vs 5)
  |
3 |     x + b
  |     ^^^^^""")

        case "NN0202 transpose of a vector" errors
            """
network t (x: [n]) : [n] =
    x |> transpose
"""
            """
test.nn(2,10): error NN0202: `transpose` needs two or more axes, but the value is [n]
  |
2 |     x |> transpose
  |          ^^^^^^^^^"""

        case "NN0203 matmul inner sizes as in LANGUAGE.md" errors
            """
network mnist (x: [n, 784]) : [n, 10] =
    param w : [512, 10] = glorot
    x @ w
"""
            ("""
test.nn(3,7): error NN0203: `@` needs the inner sizes to agree, but the left side is [n, 784] and the right side is"""
             + """ [512, 10]
  |
3 |     x @ w
  |       ^""")

        case "NN0211 prelude dense reports at the user's call site" errors
            """
network mnist (image: [n, 28, 28]) : [n, 10] =
    image
    |> dense 10
"""
            ("""
test.nn(3,8): error NN0211: the argument `x` of `dense` should have the shape [n, k], but it is [n, 28, 28] (3 axes"""
             + """ instead of 2)
  |
3 |     |> dense 10
  |        ^^^^^^^^""")

        case "NN0204 reshape element count" errors
            """
network t (x: [n, 784]) : [n, 10] =
    x |> reshape [27; 28] |> flatten |> dense 10
"""
            """
test.nn(2,10): error NN0204: `reshape` must keep the number of elements, but [n, 784] cannot become [n, 27, 28]
  |
2 |     x |> reshape [27; 28] |> flatten |> dense 10
  |          ^^^^^^^^^^^^^^^^"""

        case "NN0204 flatten with a variable size" errors
            """
network t (x: [n, m, 4]) : [n, 4] =
    x |> flatten
"""
            """
test.nn(2,10): error NN0204: `flatten` needs fixed sizes after the first axis, but the value is [n, m, 4]
  |
2 |     x |> flatten
  |          ^^^^^^^"""

        case "NN0205 reduction axis out of range" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x - mean 2 x
"""
            """
test.nn(2,9): error NN0205: `mean` over axis 2, but the value has 2 axes (0 to 1)
  |
2 |     x - mean 2 x
  |         ^^^^^^^^"""

        case "NN0205 reduceMax names the built-in in the user's spelling" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x - reduceMax 3 x
"""
            """
test.nn(2,9): error NN0205: `reduceMax` over axis 3, but the value has 2 axes (0 to 1)
  |
2 |     x - reduceMax 3 x
  |         ^^^^^^^^^^^^^"""

        case "NN0206 concat with different ranks" errors
            """
network t (x: [n, 4]) (y: [n, 3, 2]) : [n, 7] =
    concat 1 [x; y]
"""
            """
test.nn(2,5): error NN0206: `concat` along axis 1 needs the other axes to agree, but got [n, 4] and [n, 3, 2]
  |
2 |     concat 1 [x; y]
  |     ^^^^^^^^^^^^^^^"""

        case "NN0207 conv2d channels" errors
            """
network t (x: [n, 28, 28, 1]) : [n, 10] =
    param k : [5, 5, 3, 6] = he
    conv2d { stride = 1; padding = same } k x |> flatten |> dense 10
"""
            ("""
test.nn(3,5): error NN0207: `conv2d` needs the image's channels (its last axis, 1) to equal the kernel's input"""
             + """ channels (its third axis, 3), but the image is [n, 28, 28, 1] and the kernel is [5, 5, 3, 6]
  |
3 |     conv2d { stride = 1; padding = same } k x |> flatten |> dense 10
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^""")

        case "NN0207 pooling window larger than the image" errors
            """
network t (x: [n, 4, 4, 1]) : [n, 1] =
    x |> maxPool2d 8 |> flatten
"""
            """
test.nn(2,10): error NN0207: `maxPool2d` window 8 is larger than the image [n, 4, 4, 1]
  |
2 |     x |> maxPool2d 8 |> flatten
  |          ^^^^^^^^^^^"""

        case "NN0207 conv2d needs an image" errors
            """
network t (x: [n, 4]) : [n, 4] =
    param k : [3, 3, 1, 1] = he
    conv2d { stride = 1; padding = valid } k x
"""
            ("""
test.nn(3,5): error NN0207: `conv2d` needs an image [n, h, w, c] and a kernel [kh, kw, cin, cout], but got [n, 4] and"""
             + """ [3, 3, 1, 1]
  |
3 |     conv2d { stride = 1; padding = valid } k x
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^""")

        case "NN0220 slice outside the axis" errors
            """
network t (x: [n, 4]) : [n, 2] =
    x.[*, 3..5]
"""
            """
test.nn(2,11): error NN0220: slice 3..5 is outside axis 1 of [n, 4] (0..3)
  |
2 |     x.[*, 3..5]
  |           ^^^^"""

        case "NN0208 slice of the batch axis" errors
            """
network t (x: [n, 4]) : [n, 4] =
    x.[0..1, *]
"""
            """
test.nn(2,5): error NN0208: axis 0 of [n, 4] has the variable size n and can only be taken whole (`*`)
  |
2 |     x.[0..1, *]
  |     ^^^^^^^^^^^"""

        case "NN0209 two inputs with one name" errors
            """
network t (x: [n, 4]) (x: [n, 3]) : [n, 4] =
    x
"""
            """
test.nn(1,23): error NN0209: the network `t` has two inputs named `x`
  |
1 | network t (x: [n, 4]) (x: [n, 3]) : [n, 4] =
  |                       ^^^^^^^^^^^"""

        case "NN0211 annotation names the differing axis" errors
            """
let f (x: [n, 3]) = x * 2.0

network t (x: [n, 4]) : [n, 4] =
    x |> f
"""
            """
test.nn(4,10): error NN0211: the argument `x` of `f` should have the shape [n, 3], but it is [n, 4] (axis 1 is 4, not 3)
  |
4 |     x |> f
  |          ^"""

        case "NN0211 annotation with a bound size" errors
            """
let width = 8
let f (x: [n, width]) = x

network t (x: [n, 4]) : [n, 4] =
    f x
"""
            ("""
test.nn(5,5): error NN0211: the argument `x` of `f` should have the shape [n, width], but it is [n, 4] (axis 1 is 4,"""
             + """ not width = 8)
  |
5 |     f x
  |     ^^^""")

        case "NN0212 output shape with a note on the body" errors
            """
network t (x: [n, 4]) : [n, 3] =
    x |> dense 5
"""
            """
test.nn(1,25): error NN0212: the output of `t` should have the shape [n, 3], but it is [n, 5] (axis 1 is 5, not 3)
  |
1 | network t (x: [n, 4]) : [n, 3] =
  |                         ^^^^^^
test.nn(2,5): note: the body computes [n, 5]
  |
2 |     x |> dense 5
  |     ^^^^^^^^^^^^"""

        case "NN0212 output rank" errors
            """
network t (x: [n, 4]) : [n, 4, 1] =
    x
"""
            """
test.nn(1,25): error NN0212: the output of `t` should have the shape [n, 4, 1], but it is [n, 4] (2 axes instead of 3)
  |
1 | network t (x: [n, 4]) : [n, 4, 1] =
  |                         ^^^^^^^^^
test.nn(2,5): note: the body computes [n, 4]
  |
2 |     x
  |     ^"""

        case "NN0212 body that is not a tensor points at the result line" errors
            """
network t (x: [n, 4]) : [n, 3] =
    let y = x |> dense 3
    exp
"""
            """
test.nn(3,5): error NN0212: the network `t` must compute a tensor, but its body is a function
  |
3 |     exp
  |     ^^^"""

        case "NN0213 param with the batch size" errors
            """
let f (x: [n, k]) =
    param w : [n, k] = glorot
    x * w

network t (x: [n, 4]) : [n, 4] =
    f x
"""
            """
test.nn(2,16): error NN0213: a parameter's size must be known: `n` is a dimension variable (such as the batch size)
  |
2 |     param w : [n, k] = glorot
  |                ^"""

        case "NN0213 state with the batch size" errors
            """
network t (x: [n, 4]) : [n, 4] =
    state c : [n] = zeros
    x
"""
            """
test.nn(2,16): error NN0213: a state's size must be known: `n` is a dimension variable (such as the batch size)
  |
2 |     state c : [n] = zeros
  |                ^"""

        case "NN0215 standardize needs fixed feature sizes" errors
            """
network t (x: [n, m]) : [n, m] =
    x |> standardize
"""
            ("""
test.nn(2,10): error NN0215: the state `std` is computed once over all the training rows, so its shape must be fixed,"""
             + """ but it is [1, m] (`m` varies with the data)
  |
2 |     x |> standardize
  |          ^^^^^^^^^^^
   = note: in `standardize`, a function of the prelude""")

        case "NN0215 an adapted state over the batch axis" errors
            """
network t (x: [n, 4]) : [n, 4] =
    state s = x * 2.0
    x + s
"""
            ("""
test.nn(2,15): error NN0215: the state `s` is computed once over all the training rows, so its shape must be fixed,"""
             + """ but it is [n, 4] (`n` varies with the data)
  |
2 |     state s = x * 2.0
  |               ^^^^^^^""")

        case "NN0216 a state's declared shape differs from its value's" errors
            """
network t (x: [n, 4]) : [n, 4] =
    state m : [4] = mean 0 x
    x - m
"""
            """
test.nn(2,15): error NN0216: the state `m` is declared with the shape [4], but its value has the shape [1, 4]
  |
2 |     state m : [4] = mean 0 x
  |               ^^^"""

        case "NN0217 a state initializer without a shape" errors
            """
network t (x: [n, 4]) : [n, 4] =
    state c = zeros
    x + c
"""
            """
test.nn(2,5): error NN0217: the state `c` needs a shape for its initializer, such as `state c : [10] = zeros`
  |
2 |     state c = zeros
  |     ^^^^^^^^^^^^^^^"""

        case "NN0214 network input without a shape" errors
            """
network t x : [n, 4] =
    x
"""
            """
test.nn(1,11): error NN0214: the network input `x` needs a shape, such as (x: [n, 784])
  |
1 | network t x : [n, 4] =
  |           ^"""
    ]
