module Nn.Tests.Runtime.Data.CsvTests

open System
open System.IO
open Expecto
open FsCheck
open FsCheck.FSharp
open Nn.Runtime.Data
open Nn.Tests

let private iris = Path.Combine(TestUtil.repoRoot, "examples", "data", "iris.csv")
let private irisSpec = CsvSpec(Label = ColumnRef.ByName "species")

let private withTemp f = Nn.Tests.TestUtil.withTempDir "nn-csv-" f

/// Writes `text` to `name` in a temporary folder and reads it with `spec`.
let private readText name (text: string) spec =
    withTemp (fun dir ->
        let p = Path.Combine(dir, name)
        File.WriteAllText(p, text)
        Csv.Read(p, spec))

let private dataError f = Nn.Tests.TestUtil.dataError f

/// iris.csv with line `line` (1-based, header = 1) replaced by `f` of it.
let private irisWith line (f: string -> string) =
    File.ReadAllLines iris |> Array.mapi (fun i l -> if i + 1 = line then f l else l) |> String.concat "\n"

let private config = { FsCheckConfig.defaultConfig with maxTest = 50 }

[<Tests>]
let tests =
    testList "Runtime.Data.Csv" [
        test "iris has 150 rows of 4 features and 3 classes in order of first appearance" {
            let d = Csv.Read(iris, irisSpec)
            Expect.equal d.Features.Shape [| 150; 4 |] "features"
            Expect.equal d.Targets.Shape [| 150 |] "labels"
            Expect.equal d.ClassNames [| "setosa"; "versicolor"; "virginica" |] "classes"
            Expect.equal ((d.Features.Row 0).ToArray()) [| 5.1f; 3.5f; 1.4f; 0.2f |] "first row"
            Expect.equal d.Targets.Data.[0] 0.0f "first label"
            Expect.equal (d.Targets.Data |> Array.countBy id |> Array.sort) [| 0.0f, 50; 1.0f, 50; 2.0f, 50 |]
                "50 of each"
        }
        test "features by index and by name read the same columns" {
            let byIndex = Csv.Read(iris, CsvSpec([ ColumnRef.ByIndex 2; ColumnRef.ByIndex 0 ], ColumnRef.ByIndex 4))
            let byName =
                Csv.Read(iris, CsvSpec([ ColumnRef.ByName "petal_length"; ColumnRef.ByName "sepal_length" ],
                                       ColumnRef.ByName "species"))
            Expect.equal byIndex.Features.Data byName.Features.Data "same features"
            Expect.equal ((byName.Features.Row 0).ToArray()) [| 1.4f; 5.1f |] "selected in the order asked"
        }
        test "quoted fields hold commas, quotes and newlines; CRLF and trailing blank lines are fine" {
            let text = "\"x, first\",y,name\r\n\"1.5\",2,\"a, \"\"quoted\"\"\r\nline\"\r\n3,-4e-1,b\r\n\r\n\r\n"
            let spec = CsvSpec([ ColumnRef.ByName "x, first"; ColumnRef.ByIndex 1 ], ColumnRef.ByName "name")
            let d = readText "q.csv" text spec
            Expect.equal d.Features.Data [| 1.5f; 2.0f; 3.0f; -0.4f |] "numbers, quoted or not"
            Expect.equal d.ClassNames [| "a, \"quoted\"\r\nline"; "b" |]
                "the quoted label keeps its comma, quotes and newline"
        }
        test "numeric labels are used as they are" {
            let d = readText "n.csv" "a,label\n1,2\n2,0\n3,1\n" (CsvSpec(Label = ColumnRef.ByName "label"))
            Expect.equal d.Targets.Data [| 2.0f; 0.0f; 1.0f |] "labels"
            Expect.equal d.ClassNames [| "0"; "1"; "2" |] "whole-number labels name classes 0..max"
            let r = readText "r.csv" "a,label\n1,2.5\n2,-1\n" (CsvSpec(Label = ColumnRef.ByName "label"))
            Expect.equal r.Targets.Data [| 2.5f; -1.0f |] "fractional values kept"
            Expect.isNull r.ClassNames "no classes for non-class values"
        }
        test "target columns make a regression dataset; no label means all other columns are features" {
            let d = readText "t.csv" "x1,y,x2\n1,10,2\n3,30,4\n" (CsvSpec(Targets = [ ColumnRef.ByName "y" ]))
            Expect.equal d.Features.Data [| 1.0f; 2.0f; 3.0f; 4.0f |] "features x1, x2"
            Expect.equal d.Targets.Shape [| 2; 1 |] "targets [N, 1]"
            Expect.equal d.Targets.Data [| 10.0f; 30.0f |] "targets"
            let all = readText "f.csv" "a,b\n1,2\n" (CsvSpec())
            Expect.isNull all.Targets "no targets"
            Expect.equal all.Features.Shape [| 1; 2 |] "every column"
        }
        test "a ragged row names its row and the expected field count" {
            let dropLast (l: string) = l.Substring(0, l.LastIndexOf ',')
            let e = dataError (fun () -> readText "iris.csv" (irisWith 3 dropLast) irisSpec)
            Expect.equal e.Code "NN0521" "code"
            Expect.equal e.Message "iris.csv row 3: 4 fields, expected 5 as in the header" "message"
            Expect.equal (e.Row |> Option.ofNullable) (Some 3) "row"
        }
        test "a cell that is not a number names the row, column and text" {
            let withAbc (l: string) =
                let f = l.Split ','
                f.[2] <- "abc"
                String.Join(",", f)
            let e = dataError (fun () -> readText "iris.csv" (irisWith 17 withAbc) irisSpec)
            Expect.equal e.Code "NN0522" "code"
            Expect.equal e.Message "iris.csv row 17, column 3 (petal_length): `abc` is not a number" "message"
            Expect.equal (e.Row |> Option.ofNullable, e.Column |> Option.ofNullable) (Some 17, Some 3) "location"
        }
        test "an empty feature cell is NN0576, which the `missing` setting fills" {
            let e = dataError (fun () -> readText "e.csv" "a,b\n1,\n" (CsvSpec()))
            Expect.equal e.Code "NN0576" "code"
            Expect.equal e.Message
                ("e.csv row 2, column 2 (b): the cell is empty; fill it in or drop the row, or set `missing = mean` or "
                 + "`missing = 0` in the `csv` settings") "message"
        }
        test "an empty target cell is not a number" {
            let e = dataError (fun () -> readText "e.csv" "a,b\n1,\n" (CsvSpec(Targets = [ ColumnRef.ByName "b" ])))
            Expect.equal e.Code "NN0522" "code"
            Expect.equal e.Message "e.csv row 2, column 2 (b): the cell is empty, expected a number" "message"
        }
        test "numbers use the invariant culture: a decimal comma is not a number" {
            let e = dataError (fun () -> readText "c.csv" "a,b\n\"1,5\",2\n" (CsvSpec()))
            Expect.equal e.Message "c.csv row 2, column 1 (a): `1,5` is not a number" "message"
        }
        test "a NUL byte in a cell is an error, not skipped (3\\0 is not 3)" {
            let e = dataError (fun () -> readText "z.csv" "a,b\n1,3\u0000\n" (CsvSpec()))
            Expect.equal e.Code "NN0526" "code"
            Expect.equal e.Message "z.csv row 2, column 2: the cell holds a NUL byte (\\0); a CSV file is text (is \
                                    this a binary file, or UTF-16? save it as UTF-8)" "message"
            Expect.equal (e.Row |> Option.ofNullable, e.Column |> Option.ofNullable) (Some 2, Some 2) "location"
            let q =
                dataError (fun () -> readText "q.csv" "a,b\n1,\"x\u0000\"\n" (CsvSpec(Label = ColumnRef.ByName "b")))
            Expect.equal q.Code "NN0526" "in a quoted label too"
        }
        test "NaN, infinities and overflows are errors naming row and column when finite numbers are required" {
            let cases =
                [ "NaN", "`NaN` is not a finite number"
                  "nan", "`nan` is not a finite number"
                  "Infinity", "`Infinity` is not a finite number"
                  "-Inf", "`-Inf` is not a finite number"
                  "∞", "`∞` is not a finite number"
                  "1e39", "`1e39` is too large for a 32-bit float (the largest is about 3.4e38)"
                  "-1e39", "`-1e39` is too large for a 32-bit float (the largest is about 3.4e38)" ]
            for cell, what in cases do
                let spec = CsvSpec(Targets = [ ColumnRef.ByName "y" ], RequireFinite = true)
                let e = dataError (fun () -> readText "f.csv" $"a,b,y\n1,2,3\n4,{cell},6\n" spec)
                Expect.equal e.Code "NN0542" $"code for {cell}"
                Expect.equal e.Message $"f.csv row 3, column 2 (b): {what}; training needs finite numbers (drop the \
                                         row or fill the cell in)" $"message for {cell}"
                let t = dataError (fun () -> readText "t.csv" $"a,y\n1,{cell}\n" spec)
                Expect.equal (t.Code, t.Row |> Option.ofNullable, t.Column |> Option.ofNullable)
                    ("NN0542", Some 2, Some 2) $"a target {cell}"
                let labelSpec = CsvSpec(Label = ColumnRef.ByName "y", RequireFinite = true)
                let l = dataError (fun () -> readText "l.csv" $"a,y\n1,0\n2,{cell}\n" labelSpec)
                Expect.equal (l.Code, l.Row |> Option.ofNullable) ("NN0542", Some 3) $"a numeric label {cell}"
        }
        test "without the requirement, Inf and ∞ read as infinity like Infinity, and NaN as NaN" {
            let d = readText "i.csv" "a,b,c,d,e\nInf,-inf,∞,-∞,Infinity\n" (CsvSpec())
            Expect.equal d.Features.Data [| infinityf; -infinityf; infinityf; -infinityf; infinityf |] "infinities"
            let n = readText "n.csv" "a\nNaN\n" (CsvSpec())
            Expect.isTrue (Single.IsNaN n.Features.Data[0]) "NaN"
            let e = dataError (fun () -> readText "x.csv" "a\ninfinit\n" (CsvSpec()))
            Expect.equal e.Code "NN0522" "other words are still not numbers"
        }
        test "an unknown column name lists the header" {
            let e = dataError (fun () -> Csv.Read(iris, CsvSpec(Label = ColumnRef.ByName "specie")))
            Expect.equal e.Code "NN0523" "code"
            Expect.equal e.Message "iris.csv: no column named `specie`; the header has sepal_length, sepal_width, \
                                    petal_length, petal_width, species" "message"
        }
        test "a column index past the header names the valid range" {
            let e = dataError (fun () -> Csv.Read(iris, CsvSpec([ ColumnRef.ByIndex 5 ], ColumnRef.ByIndex 4)))
            Expect.equal e.Message "iris.csv: there is no column 5; the header has 5 columns, numbered 0 to 4" "message"
        }
        test "an empty file and a header without rows are errors" {
            let e = dataError (fun () -> readText "empty.csv" "\n\n" (CsvSpec()))
            Expect.equal (e.Code, e.Message) ("NN0520", "empty.csv: the file is empty; expected a header row naming \
                                                         the columns") "empty"
            let h = dataError (fun () -> readText "h.csv" "a,b\n" (CsvSpec()))
            Expect.equal (h.Code, h.Message) ("NN0525", "h.csv: the file has a header row but no data \
                                                         rows") "header only"
        }
        test "a quote that is never closed names where it opened" {
            let e = dataError (fun () -> readText "u.csv" "a,b\n1,2\n3,\"4\n5,6\n" (CsvSpec()))
            Expect.equal e.Code "NN0524" "code"
            Expect.equal e.Message "u.csv row 3, column 2: a quoted field is never closed (missing `\"`)" "message"
        }
        test "predictions are written with class names and the predicted class" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "pred.csv")
                let out = HostTensor([| 2; 3 |], [| 0.1f; 0.7f; 0.2f; 0.5f; 0.25f; 0.25f |])
                Csv.WritePredictions(p, out, [| "setosa"; "versi,color"; "virginica" |])
                Expect.equal (File.ReadAllText p) "setosa,\"versi,color\",virginica,predicted\n0.1,0.7,0.2,\"versi,\
                                                   color\"\n0.5,0.25,0.25,setosa\n" "text"
                Csv.WritePredictions(p, HostTensor([| 2 |], [| 1.5f; -2.0f |]))
                Expect.equal (File.ReadAllText p) "y\n1.5\n-2\n" "one unnamed output")
        }
        testPropertyWithConfig config "written tables read back exactly" <|
            Prop.forAll
                (Arb.fromGen (gen {
                    let! rows = Gen.choose (1, 20)
                    let! cols = Gen.choose (1, 6)
                    let! values = Gen.arrayOfLength (rows * cols) (ArbMap.defaults |> ArbMap.generate<NormalFloat>)
                    return rows, cols, values |> Array.map (fun v -> float32 v.Get) }))
                (fun (rows, cols, values) ->
                    withTemp (fun dir ->
                        let p = Path.Combine(dir, "t.csv")
                        Csv.Write(p, [ for j in 1 .. cols -> $"c{j}" ], HostTensor([| rows; cols |], values))
                        let d = Csv.Read(p, CsvSpec())
                        d.Features.Shape = [| rows; cols |] && d.Features.Data = values))
    ]
