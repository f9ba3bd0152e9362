/// Tables with text columns and empty cells: the one-hot layout of `categorical`, the ids of `indexed`, the fills of
/// `missing`, the encoding kept with the weights and applied again, and each error with its exact message.
module Nn.Tests.Runtime.Data.CsvTableTests

open System.IO
open Expecto
open Nn.Runtime.Data
open Nn.Tests

let private names (xs: string list) =
    xs |> List.map ColumnRef.ByName |> ResizeArray :> System.Collections.Generic.IReadOnlyList<_>

/// Writes `text` to `name` in a temporary folder and reads it as a table with `spec`.
let private readTable name (text: string) (spec: CsvSpec) =
    TestUtil.withTempDir "nn-table-" (fun dir ->
        let p = Path.Combine(dir, name)
        File.WriteAllText(p, text)
        Csv.ReadTable(p, spec))

let private rows (t: HostTensor) = [ for i in 0 .. t.Rows - 1 -> t.Row(i).ToArray() |> List.ofArray ]

let private houses =
    "sqft,town,word,price\n100,b,x,1\n200,a,y,2\n300,c,x,3\n400,a,z,4\n"

let private spec =
    CsvSpec(names [ "sqft"; "town"; "word" ], ColumnRef.ByName "price", Categorical = names [ "town" ],
            Indexed = names [ "word" ])

[<Tests>]
let tests =
    testList "Runtime.Data.CsvTable" [
        test "a categorical column is one-hot over its sorted values, at its place among the features" {
            let t = readTable "h.csv" houses spec
            // towns sorted: a, b, c; words sorted: x = 1, y = 2, z = 3
            Expect.equal (List.ofArray t.Data.Features.Shape) [ 4; 5 ] "1 + 3 + 1 columns"
            Expect.equal (rows t.Data.Features)
                [ [ 100f; 0f; 1f; 0f; 1f ]; [ 200f; 1f; 0f; 0f; 2f ]; [ 300f; 0f; 0f; 1f; 1f ]
                  [ 400f; 1f; 0f; 0f; 3f ] ] "one-hot towns, word ids"
            let columns = t.Encoding.Columns
            Expect.equal columns[1].Values [| "a"; "b"; "c" |] "the towns' vocabulary"
            Expect.equal columns[2].Values [| "x"; "y"; "z" |] "the words' vocabulary"
            Expect.equal (List.ofArray t.Data.Targets.Data) [ 1f; 2f; 3f; 4f ] "the label is read as before"
        }
        test "the vocabulary does not depend on the order of the rows" {
            let shuffled = "sqft,town,word,price\n400,a,z,4\n300,c,x,3\n100,b,x,1\n200,a,y,2\n"
            let a, b = readTable "a.csv" houses spec, readTable "b.csv" shuffled spec
            Expect.equal (b.Encoding.ToJson()) (a.Encoding.ToJson()) "the same encoding"
        }
        test "a known encoding is applied: an indexed value never seen is 0, a known one keeps its id" {
            let known = (readTable "h.csv" houses spec).Encoding
            let fresh = "word,town,sqft\nq,c,7\ny,b,8\n" // other column order, no label
            let t = readTable "n.csv" fresh (CsvSpec(Known = known))
            Expect.equal (rows t.Data.Features) [ [ 7f; 0f; 0f; 1f; 0f ]; [ 8f; 0f; 1f; 0f; 2f ] ] "encoded as trained"
            Expect.equal t.Encoding known "the known encoding is the table's"
        }
        test "a categorical value never seen in training is NN0575 naming the row, the value and the known values" {
            let known = (readTable "h.csv" houses spec).Encoding
            let text = "sqft,town,word\n1,a,x\n2,atlantis,x\n"
            let e = TestUtil.dataError (fun () -> readTable "n.csv" text (CsvSpec(Known = known)))
            Expect.equal e.Code "NN0575" "code"
            Expect.equal e.Message
                ("n.csv row 3, column 2 (town): `atlantis` is not a value of the categorical column `town` seen in "
                 + "training; the known values are `a`, `b`, `c`") "message"
            Expect.equal (e.Row |> Option.ofNullable, e.Column |> Option.ofNullable) (Some 3, Some 2) "location"
        }
        test "missing = mean fills an empty number cell with the mean of the training rows' numbers" {
            let text = "a,b,y\n1,10,0\n,20,0\n3,,0\n100,,0\n"
            let training = System.Func<int, bool[]>(fun n -> Array.init n (fun i -> i < 3)) // the last row held out
            let t =
                readTable "m.csv" text
                    (CsvSpec(names [ "a"; "b" ], ColumnRef.ByName "y", Missing = MissingSpec(MissingKind.Mean),
                             TrainingRows = training))
            // a: mean of 1 and 3 (100 is a validation row); b: mean of 10 and 20
            Expect.equal (rows t.Data.Features) [ [ 1f; 10f ]; [ 2f; 20f ]; [ 3f; 15f ]; [ 100f; 15f ] ] "filled"
            Expect.equal (t.Encoding.Columns |> Seq.map (fun c -> c.Fill.Value) |> List.ofSeq) [ 2f; 15f ] "fills"
        }
        test "missing = 0 fills numbers with 0 and makes an empty text cell unknown (zeros, id 0)" {
            let text = "n,town,word,y\n,a,x,0\n5,,,0\n6,b,y,0\n"
            let s =
                CsvSpec(names [ "n"; "town"; "word" ], ColumnRef.ByName "y", Categorical = names [ "town" ],
                        Indexed = names [ "word" ], Missing = MissingSpec(MissingKind.Constant, 0f))
            let t = readTable "z.csv" text s
            Expect.equal (rows t.Data.Features) [ [ 0f; 1f; 0f; 1f ]; [ 5f; 0f; 0f; 0f ]; [ 6f; 0f; 1f; 2f ] ] "filled"
            Expect.equal t.Encoding.Columns[1].Values [| "a"; "b" |] "the empty cell is not a value"
        }
        test "an empty text cell without `missing` is NN0576" {
            let e = TestUtil.dataError (fun () -> readTable "h.csv" "sqft,town,word,price\n1,,x,1\n" spec)
            Expect.equal e.Code "NN0576" "code"
            Expect.equal e.Message
                ("h.csv row 2, column 2 (town): the cell is empty; fill it in or drop the row, or set `missing = mean` "
                 + "or `missing = 0` in the `csv` settings") "message"
        }
        test "text in a number column is still NN0522 naming the row, column and value" {
            let e = TestUtil.dataError (fun () -> readTable "h.csv" "sqft,town,word,price\nbig,a,x,1\n" spec)
            Expect.equal e.Code "NN0522" "code"
            Expect.equal e.Message "h.csv row 2, column 1 (sqft): `big` is not a number" "message"
        }
        test "a text column that is not a feature, or is both kinds, is NN0578" {
            let notFeature = CsvSpec(names [ "sqft" ], ColumnRef.ByName "price", Categorical = [ ColumnRef.ByIndex 1 ])
            let e = TestUtil.dataError (fun () -> readTable "h.csv" houses notFeature)
            Expect.equal e.Code "NN0578" "code"
            Expect.equal e.Message
                "h.csv: the column `town` is listed in `categorical` but is not one of the `features`" "message"
            let both =
                CsvSpec(names [ "sqft"; "town" ], ColumnRef.ByName "price", Categorical = names [ "town" ],
                        Indexed = [ ColumnRef.ByIndex 1 ])
            let e = TestUtil.dataError (fun () -> readTable "h.csv" houses both)
            Expect.equal e.Message "h.csv: the column `town` is listed in both `categorical` and `indexed`" "message"
        }
        test "the encoding survives its JSON (the checkpoint's `table` record)" {
            let withMean =
                CsvSpec(names [ "sqft"; "town"; "word" ], ColumnRef.ByName "price", Categorical = names [ "town" ],
                        Indexed = names [ "word" ], Missing = MissingSpec(MissingKind.Mean))
            let t = readTable "h.csv" houses withMean
            let back = TableEncoding.FromJson(t.Encoding.ToJson(), "c.safetensors")
            Expect.equal (back.ToJson()) (t.Encoding.ToJson()) "the same JSON"
            Expect.equal back.Width 5 "the same width"
            Expect.equal back.Columns[0].Fill (System.Nullable 250f) "the mean of sqft"
        }
        test "a table record that is not an encoding is NN0577" {
            let e = TestUtil.dataError (fun () -> TableEncoding.FromJson("""{"columns":[{"name":"a","kind":"word"}]}""",
                                                                         "c.safetensors"))
            Expect.equal e.Code "NN0577" "code"
            Expect.equal e.Message
                ("c.safetensors: its `table` record (the vocabulary of the training table) gives the column `a` the "
                 + "unknown kind `word`") "message"
        }
        test "without text columns or `missing` a table has no encoding and reads as before" {
            let t = readTable "p.csv" "a,b\n1,2\n" (CsvSpec())
            Expect.isNull t.Encoding "no encoding"
            Expect.equal (rows t.Data.Features) [ [ 1f; 2f ] ] "numbers"
        }
    ]
