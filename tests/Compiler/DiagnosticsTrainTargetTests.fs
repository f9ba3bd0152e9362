/// A `train` block against its network, checked by the compiler without reading data: a computed `target`
/// against the output and the loss (NN0210, NN0414), the loss and metrics against the output's shape (NN0210),
/// and network inputs named like the training step's own inputs (NN0415).
module Nn.Tests.Compiler.DiagnosticsTrainTargetTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.TrainTarget" [
        case "NN0210 target does not fit the network output (nn check, no data read)" errors
            """
network ae (x: [n, 4]) : [n, 3] =
    x |> dense 3

train ae {
    data = npy "no-such-file.npy"
    target = input
    loss = mse
}
"""
            ("""
test.nn(6,14): error NN0210: `mse` needs a target of the same shape, but the prediction is [n, 3] and the target is"""
             + """ [n, 4]
  |
6 |     target = input
  |              ^^^^^
test.nn(1,26): note: the output of `ae` is declared here
  |
1 | network ae (x: [n, 4]) : [n, 3] =
  |                          ^^^^^^
test.nn(7,12): note: the loss is `mse`
  |
7 |     loss = mse
  |            ^^^""")

        case "NN0210 target against an output without annotation" errors
            """
network ae (x: [n, 4]) =
    x |> dense 2

train ae {
    data = rows [ [0; 0; 0; 0], [0] ]
    target = input
    loss = mse
}
"""
            ("""
test.nn(6,14): error NN0210: `mse` needs a target of the same shape, but the prediction is [n, 2] and the target is"""
             + """ [n, 4]
  |
6 |     target = input
  |              ^^^^^
test.nn(2,5): note: `ae` computes [n, 2] here
  |
2 |     x |> dense 2
  |     ^^^^^^^^^^^^
test.nn(7,12): note: the loss is `mse`
  |
7 |     loss = mse
  |            ^^^""")

        case "NN0210 target checked in a block without data" errors
            """
network ae (x: [n, 4]) : [n, 3] =
    x |> dense 3

train ae {
    target = input
    loss = mae
}
"""
            ("""
test.nn(5,14): error NN0210: `mae` needs a target of the same shape, but the prediction is [n, 3] and the target is"""
             + """ [n, 4]
  |
5 |     target = input
  |              ^^^^^
test.nn(1,26): note: the output of `ae` is declared here
  |
1 | network ae (x: [n, 4]) : [n, 3] =
  |                          ^^^^^^
test.nn(6,12): note: the loss is `mae`
  |
6 |     loss = mae
  |            ^^^""")

        case "NN0414 target that is not a tensor" errors
            """
network t (x: [n, 2]) : [n, 3] =
    x |> dense 3

train t {
    data = rows [ [0; 0], [0] ]
    target = 1.0
    loss = mse
}
"""
            """
test.nn(6,14): error NN0414: `target` must compute a tensor from `input`, but it is a number
  |
6 |     target = 1.0
  |              ^^^"""

        case "NN0210 softmaxCrossEntropy on one output" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = softmaxCrossEntropy
}
"""
            ("""
test.nn(6,12): error NN0210: `softmaxCrossEntropy` needs an output with two or more classes on its last axis (a fixed"""
             + """ size ≥ 2), but the network `t` computes [n, 1]
  |
6 |     loss = softmaxCrossEntropy
  |            ^^^^^^^^^^^^^^^^^^^
test.nn(1,25): note: the output of `t` is declared here
  |
1 | network t (x: [n, 2]) : [n, 1] =
  |                         ^^^^^^""")

        case "NN0210 accuracy without a class axis" errors
            """
network t (x: [n, 2]) =
    x |> dense 1 |> reshape [n]

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    metrics = [accuracy]
}
"""
            ("""
test.nn(7,15): error NN0210: `accuracy` needs an output with one probability or a score per class on its last axis (a"""
             + """ fixed size), but the network `t` computes [n]
  |
7 |     metrics = [accuracy]
  |               ^^^^^^^^^^
test.nn(2,5): note: `t` computes [n] here
  |
2 |     x |> dense 1 |> reshape [n]
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^""")

        case "NN0415 network input named like a step input" errors
            """
network t (lr: [n, 2]) : [n, 1] =
    lr |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
}
"""
            ("""
test.nn(1,11): error NN0415: the input `lr` of `t` has the name of an input of the training step (`target`, `lr`,"""
             + """ `t`); rename it
  |
1 | network t (lr: [n, 2]) : [n, 1] =
  |           ^^""")
    ]
