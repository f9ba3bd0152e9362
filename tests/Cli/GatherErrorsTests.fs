/// `nn train` on a program whose data holds an id outside the table of its `gather`: NN0546 at the line of the
/// `gather`, naming the op, the id and the table's rows, exit code 1, no stack trace, in both executors.
module Nn.Tests.Cli.GatherErrorsTests

open System.IO
open Expecto
open Nn.Tests.TestUtil

let private nn = runNn []

let private program = """network emb (ids: [n, 3]) : [n, 1] =
    param table : [4, 2] = normal 0.5
    param w : [2, 1] = glorot
    let steps = gather table ids |> unstack 1
    (stack 2 steps |> sum [2] |> reshape [2]) @ w

train emb {
    data      = rows [ [0; 1; 2], [1]
                       [3; 4; 1], [0] ]
    loss      = mse
    optimizer = adam { lr = 0.05 }
    batch     = 2
    epochs    = 2
}
"""

[<Tests>]
let tests =
    testList "Cli.GatherErrors" [
        test "an id outside 0..v-1 in the data is NN0546 at the gather's line, in both executors" {
            withTempDir "nn-gather-" (fun dir ->
                File.WriteAllText(Path.Combine(dir, "emb.nn"), program)
                for engine in [ "fused"; "reference" ] do
                    let code, _, err = nn dir [ "train"; "emb.nn"; "--engine"; engine; "--quiet" ]
                    Expect.equal code 1 $"{engine}: exit code"
                    let err = err.Replace("\r\n", "\n").Replace(Path.Combine(dir, "emb.nn"), "emb.nn")
                    let expected =
                        "emb.nn(4,17): error NN0546: `gather`: id 4 (element 4 of the ids) is outside 0..3 (the table \
                         has 4 rows)\n  |\n4 |     let steps = gather table ids |> unstack 1\n  |                 \
                         ^^^^^^^^^^^^^^^^\n"
                    Expect.stringStarts err expected $"{engine}: the diagnostic"
                    Expect.isFalse (err.Contains "   at ") $"{engine}: no stack trace")
        }
    ]
