/// Data-source errors: the ones the compiler finds in the program (NN0405, at the row, item or setting), and the
/// ones found when the data is read by TrainPlan.create as `nn train` would (NN0406, NN055x).
module Nn.Tests.Compiler.DiagnosticsTrainDataTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.TrainData" [
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

        case "NN0405 ragged rows, at the row" errors
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
test.nn(6,19): error NN0405: row 2 has 3 features and 1 target values, but row 1 has 2 and 1
  |
6 |                   [1; 0; 1], [1] ]
  |                   ^^^^^^^^^^^^^^"""

        case "NN0405 a row value that is not a number" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0]
                  [1; "one"], [1] ]
    loss = mse
}
"""
            """
test.nn(6,23): error NN0405: a row holds numbers, but this is a string
  |
6 |                   [1; "one"], [1] ]
  |                       ^^^^^"""

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
test.nn(5,58): error NN0405: `generate` needs low < high, got 2 and 1
  |
5 |     data = generate 100 (fun x -> x) { low = 2.0; high = 1.0 }
  |                                                          ^^^"""

        case "NN0405 csv column that is neither a name nor an index" errors
            """
network t (x: [n, 4]) : [n, 3] =
    x |> dense 3

train t {
    data = csv "data/iris.csv" { features = [0; 1; 2.5; 3]; label = "species" }
    loss = softmaxCrossEntropy
}
"""
            """
test.nn(5,52): error NN0405: a column is a name in quotes or a 0-based index, but this is a number
  |
5 |     data = csv "data/iris.csv" { features = [0; 1; 2.5; 3]; label = "species" }
  |                                                    ^^^"""

        case "NN0405 generate count that is not whole" errors
            """
network t (x: [n, 1]) : [n, 1] =
    x |> dense 1

train t {
    data = generate 2.5 (fun x -> x) { low = 0.0 }
    loss = mse
}
"""
            """
test.nn(5,21): error NN0405: `generate` needs a whole count from 1 to 10000000, got 2.5
  |
5 |     data = generate 2.5 (fun x -> x) { low = 0.0 }
  |                     ^^^"""

        case "NN0405 a row that is not a pair, at the row" errors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0]
                  [1; 1] ]
    loss = mse
}
"""
            """
test.nn(6,19): error NN0405: each row is a pair `features, target` such as [0; 1], [1], but this is a list
  |
6 |                   [1; 1] ]
  |                   ^^^^^^"""

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
            ("""
test.nn(5,12): error NN0551: the data's targets are class numbers, but the network's output is [n, 3] and the loss is"""
             + """ `mse` (use softmaxCrossEntropy)
  |
5 |     data = csv "data/iris.csv" { features = [0; 1; 2; 3]; label = "species" }
  |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^""")

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
        case "NN0542 a rows value too large for a 32-bit float" planErrors
            """
network t (x: [n, 2]) : [n, 1] =
    x |> dense 1

train t {
    data = rows [ [0; 0], [0]
                  [1; 1e39], [1] ]
    loss = mse
}
"""
            ("""
test.nn(5,12): error NN0542: row 2, column 2 of the features: 1e39 is too large for a 32-bit float (the largest is"""
             + """ about 3.4e38); training needs finite numbers
  |
5 |     data = rows [ [0; 0], [0]
  |            ^^^^^^^^^^^^^^^^^^""")
        case "NN0542 a generated target beyond float32" planErrors
            """
network t (x: [n, 1]) : [n, 1] =
    x |> dense 1

train t {
    data = generate 10 (fun x -> exp (x * 1000.0)) { low = 0.0; high = 1.0 }
    loss = mse
}
"""
            ("""
test.nn(5,12): error NN0542: row 1, column 1 of the generated targets: 3.426758726774334e243 is too large for a"""
             + """ 32-bit float (the largest is about 3.4e38); training needs finite numbers
  |
5 |     data = generate 10 (fun x -> exp (x * 1000.0)) { low = 0.0; high = 1.0 }
  |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^""")
    ]
