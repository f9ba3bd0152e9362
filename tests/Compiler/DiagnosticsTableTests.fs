/// The `csv` settings of tables (`categorical`, `indexed`, `missing`): mistakes `nn check` finds before any data is
/// read (NN0445–NN0447), at the item or setting.
module Nn.Tests.Compiler.DiagnosticsTableTests

open Expecto
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Table" [
        case "NN0445 a categorical column that is not among the features" errors
            """
network t (x: [n, 9]) : [n, 1] =
    x |> dense 1

train t {
    data = csv "data/houses.csv" { features = ["sqft"; "age"]; label = "price_k"; categorical = ["location"] }
    loss = mse
}
"""
            ("""
test.nn(5,98): error NN0445: `location` is in `categorical` but not among the `features` (`sqft`, `age`)"""
             + """; add it to them
  |
5 |     data = csv "data/houses.csv" { features = ["sqft"; "age"]; label = "price_k"; categorical = ["location"] }
  |                                                                                                  ^^^^^^^^^^""")

        case "NN0445 an indexed column that is the label" errors
            """
network t (x: [n, 5]) : [n, 1] =
    x |> dense 1

train t {
    data = csv "data/houses.csv" { label = "location"; indexed = ["location"] }
    loss = mse
}
"""
            """
test.nn(5,67): error NN0445: `location` is the `label`; `indexed` lists feature columns
  |
5 |     data = csv "data/houses.csv" { label = "location"; indexed = ["location"] }
  |                                                                   ^^^^^^^^^^"""

        case "NN0446 a column both categorical and indexed" errors
            """
network t (x: [n, 9]) : [n, 1] =
    x |> dense 1

train t {
    data = csv "data/houses.csv" { label = "price_k"; categorical = ["location"]; indexed = ["location"] }
    loss = mse
}
"""
            """
test.nn(5,94): error NN0446: `location` is in both `categorical` and `indexed`; a text column is one or the other
  |
5 |     data = csv "data/houses.csv" { label = "price_k"; categorical = ["location"]; indexed = ["location"] }
  |                                                                                              ^^^^^^^^^^"""

        case "NN0446 a column listed twice" errors
            """
network t (x: [n, 9]) : [n, 1] =
    x |> dense 1

train t {
    data = csv "data/houses.csv" { label = "price_k"; categorical = ["location"; "location"] }
    loss = mse
}
"""
            """
test.nn(5,82): error NN0446: `location` is listed twice in `categorical`
  |
5 |     data = csv "data/houses.csv" { label = "price_k"; categorical = ["location"; "location"] }
  |                                                                                  ^^^^^^^^^^"""

        case "NN0447 a missing setting that is neither mean nor a number" errors
            """
network t (x: [n, 9]) : [n, 1] =
    x |> dense 1

train t {
    data = csv "data/houses.csv" { label = "price_k"; categorical = ["location"]; missing = "median" }
    loss = mse
}
"""
            ("""
test.nn(5,93): error NN0447: `missing` is `mean` (the column's mean over the training rows)"""
             + """ or a number such as 0, but this is a string
  |
5 |     data = csv "data/houses.csv" { label = "price_k"; categorical = ["location"]; missing = "median" }
  |                                                                                             ^^^^^^^^""")
    ]
