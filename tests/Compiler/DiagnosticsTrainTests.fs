/// `train` block errors (NN04xx) found by the compiler, and data errors (NN055x) found by TrainPlan.create.
module Nn.Tests.Compiler.DiagnosticsTrainTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Train" [
        case "NN0401 unknown train field with a suggestion" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    epoch = 10
}
"""
            """
test.nn(7,5): error NN0401: `train` has no field `epoch`; did you mean `epochs`?
  |
7 |     epoch = 10
  |     ^^^^^"""

        case "NN0402 optimizer setting with a suggestion" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = adam { lr = 0.1; beta = 0.9 }
}
"""
            """
test.nn(7,22): error NN0402: `adam` has no setting `beta` (it has `lr`, `beta1`, `beta2`, `eps`); did you mean `beta1`?
  |
7 |     optimizer = adam { lr = 0.1; beta = 0.9 }
  |                      ^^^^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0402 csv setting with a transposition suggestion" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = csv "data/iris.csv" { features = [0; 1]; lable = "species" }
    loss = mse
}
"""
            """
test.nn(5,32): error NN0402: `csv` has no setting `lable` (it has `features`, `label`); did you mean `label`?
  |
5 |     data = csv "data/iris.csv" { features = [0; 1]; lable = "species" }
  |                                ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0403 negative learning rate" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = sgd { lr = -0.1 }
}
"""
            """
test.nn(7,17): error NN0403: the learning rate must be positive, got -0.1
  |
7 |     optimizer = sgd { lr = -0.1 }
  |                 ^^^^^^^^^^^^^^^^^"""

        case "NN0403 nesterov without momentum" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = sgd { lr = 0.1; nesterov = true }
}
"""
            """
test.nn(7,17): error NN0403: `nesterov = true` needs a positive `momentum`
  |
7 |     optimizer = sgd { lr = 0.1; nesterov = true }
  |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0404 schedule is a number" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    schedule = 0.5
}
"""
            """
test.nn(7,16): error NN0404: `schedule` is one of stepDecay, exponential, cosine, warmup, reduceOnPlateau, but this is a number
  |
7 |     schedule = 0.5
  |                ^^^"""

        case "NN0405 ragged rows" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0]
                  [1; 0; 1], [1] ]
    loss = mse
}
"""
            """
test.nn(5,17): error NN0405: row 2 has 3 features and 1 target values, but row 1 has 2 and 1
  |
5 |     data = rows [ [0; 0], [0]
  |                 ^^^^^^^^^^^^^"""

        case "NN0405 generate with low above high" errors
            """
network t (x: [n, 1]) : [n, 1] =
    x |> dense 1

train t {
    data = generate 100 (fun x -> x) { low = 2.0; high = 1.0 }
    loss = mse
}
"""
            """
test.nn(5,38): error NN0405: `generate` needs low < high, got 2 and 1
  |
5 |     data = generate 100 (fun x -> x) { low = 2.0; high = 1.0 }
  |                                      ^^^^^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0406 train without data (reported when the block is planned)" planErrors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    loss = mse
}
"""
            """
test.nn(4,1): error NN0406: `train t` needs a `data` field saying where the examples come from
  |
4 | train t {
  | ^^^^^^^^^"""

        case "NN0407 batch of zero" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    batch = 0
}
"""
            """
test.nn(7,13): error NN0407: `batch` must be a positive whole number, got 0
  |
7 |     batch = 0
  |             ^"""

        case "NN0407 validation outside [0, 1)" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    validation = 1.5
}
"""
            """
test.nn(7,18): error NN0407: `validation` must be a fraction in [0, 1), got 1.5
  |
7 |     validation = 1.5
  |                  ^^^"""

        case "NN0408 missing loss" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
}
"""
            """
test.nn(4,1): error NN0408: `train t` needs a `loss` field (one of mse, mae, huber, binaryCrossEntropy, softmaxCrossEntropy, crossEntropy)
  |
4 | train t {
  | ^^^^^^^^^"""

        case "NN0408 loss that is not a loss" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = accuracy
}
"""
            """
test.nn(6,12): error NN0408: `loss` is one of mse, mae, huber, binaryCrossEntropy, softmaxCrossEntropy, crossEntropy, but this is `accuracy`
  |
6 |     loss = accuracy
  |            ^^^^^^^^"""

        case "NN0409 unknown metric" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    metrics = [mse]
}
"""
            """
test.nn(7,15): error NN0409: the known metric is `accuracy`, but this is `mse`
  |
7 |     metrics = [mse]
  |               ^^^^^"""

        case "NN0410 regularize with a bare number" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    regularize = 0.01
}
"""
            """
test.nn(7,18): error NN0410: `regularize` is `l1 c`, `l2 c` or a list of them, but this is a number
  |
7 |     regularize = 0.01
  |                  ^^^^"""

        case "NN0411 clip with a bare number" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    clip = 1.0
}
"""
            """
test.nn(7,12): error NN0411: `clip` is `norm c` or `value c`, but this is a number
  |
7 |     clip = 1.0
  |            ^^^"""

        case "NN0412 early stopping monitor" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    stop = earlyStopping { monitor = mse; patience = 3 }
}
"""
            """
test.nn(7,12): error NN0412: `monitor` is one of loss, accuracy, validationLoss, validationAccuracy, but this is `mse`
  |
7 |     stop = earlyStopping { monitor = mse; patience = 3 }
  |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0413 unknown network with a suggestion" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train tt {
    data = rows [ [0; 0], [0] ]
    loss = mse
}
"""
            """
test.nn(4,7): error NN0413: there is no network named `tt`; did you mean `t`?
  |
4 | train tt {
  |       ^^"""

        case "NN0301 unknown optimizer and schedule at once" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0] ]
    loss = mse
    optimizer = adamm
    schedule = cosin { warmup = 1 }
}
"""
            """
test.nn(7,17): error NN0301: `adamm` is not defined; did you mean `adam`?
  |
7 |     optimizer = adamm
  |                 ^^^^^
test.nn(8,16): error NN0301: `cosin` is not defined; did you mean `cosine`?
  |
8 |     schedule = cosin { warmup = 1 }
  |                ^^^^^"""

        case "NN0210 target does not fit the loss" planErrors
            """
network t (x: [n, 2]) : [n, 3] =
    x |> dense 3

train t {
    data = rows [ [0; 0], [0] ]
    target = input
    loss = mse
}
"""
            """
test.nn(7,12): error NN0210: `mse` needs a target of the same shape, but the prediction is [n, 3] and the target is [n, 2]
  |
7 |     loss = mse
  |            ^^^"""

        case "NN0414 target that is not a tensor" planErrors
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

        case "NN0550 rows wider than the network input" planErrors
            """
network t (x: [n, 3]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0]
                  [1; 1], [1] ]
    loss = mse
}
"""
            """
test.nn(5,12): error NN0550: the data's rows have the shape [2], but the network `t` takes [n, 3] (rows of [3])
  |
5 |     data = rows [ [0; 0], [0]
  |            ^^^^^^^^^^^^^^^^^^"""

        case "NN0550 csv columns against the network input" planErrors
            """
network t (x: [n, 2]) : [n, 3] =
    x |> dense 3

train t {
    data = csv "data/iris.csv" { features = [0; 1; 2; 3]; label = "species" }
    loss = softmaxCrossEntropy
}
"""
            """
test.nn(5,12): error NN0550: the data's rows have the shape [4], but the network `t` takes [n, 2] (rows of [2])
  |
5 |     data = csv "data/iris.csv" { features = [0; 1; 2; 3]; label = "species" }
  |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0551 class numbers with mse on three outputs" planErrors
            """
network t (x: [n, 4]) : [n, 3] =
    x |> dense 3

train t {
    data = csv "data/iris.csv" { features = [0; 1; 2; 3]; label = "species" }
    loss = mse
}
"""
            """
test.nn(5,12): error NN0551: the data's targets are class numbers, but the network's output is [n, 3] and the loss is `mse` (use softmaxCrossEntropy)
  |
5 |     data = csv "data/iris.csv" { features = [0; 1; 2; 3]; label = "species" }
  |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0551 targets wider than the output" planErrors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0; 1]
                  [1; 1], [1; 0] ]
    loss = mse
}
"""
            """
test.nn(5,12): error NN0551: the data's targets have rows of shape [2], but the network's output is [n, 1]
  |
5 |     data = rows [ [0; 0], [0; 1]
  |            ^^^^^^^^^^^^^^^^^^^^^"""

        case "NN0552 validation holds out every row" planErrors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0]
                  [1; 1], [1] ]
    validation = 0.9
    loss = mse
}
"""
            """
test.nn(7,18): error NN0552: `validation = 0.9` holds out all 2 rows of the data, leaving none to train on
  |
7 |     validation = 0.9
  |                  ^^^"""
    ]
