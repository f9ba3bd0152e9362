/// A table with a text column end to end (examples/house_prices.nn): the vocabulary learnt by `nn train` is kept in
/// the checkpoint and used by `nn predict`, `nn eval` and `nn summary --weights`.
module Nn.Tests.Cli.Tables

open System.IO
open Expecto
open Nn.Tests
open Nn.Runtime.Checkpoints

let private nn = TestUtil.runNn []

/// house_prices.nn trained for 2 epochs in a sandbox (once, shared by the tests below).
let private run =
    lazy
        (let dir = TestUtil.exampleSandbox "nn-tables-" [ "house_prices.nn"; "data/houses.csv" ]
         let code, _, err = nn dir [ "train"; "house_prices.nn"; "--set"; "epochs=2"; "--out"; "run"; "--quiet" ]
         if code <> 0 then failwithf "training house_prices failed: %s" err
         dir)

let private outputs (path: string) =
    File.ReadAllLines path |> Array.skip 1 |> Array.map float

/// `nn predict FILE` of the run in `dir/run`, on the training file and on a new file holding rows 1 and 3 of
/// houses.csv with the columns reordered and without the price: the same rows give the same outputs up to float32
/// rounding (a batch of 2 and of 2000 sum alike, but not always bit for bit).
let private predictsNewFileAsTraining (dir: string) (file: string) =
    let predict input out = [ "predict"; file; "--weights"; "run"; "--input"; input; "--out"; out ]
    let code, _, err = nn dir (predict "data/houses.csv" "all.csv")
    Expect.equal code 0 (sprintf "predict on the training file (stderr: %s)" err)
    File.WriteAllText(Path.Combine(dir, "new.csv"),
                      "location,distance_km,age,bedrooms,sqft\n"
                      + "old town,4.23,68,2,589\nuniversity,3.16,61,4,1715\n")
    let code, _, err = nn dir (predict "new.csv" "new-out.csv")
    Expect.equal code 0 (sprintf "predict on a new file (stderr: %s)" err)
    let whole, fresh = outputs (Path.Combine(dir, "all.csv")), outputs (Path.Combine(dir, "new-out.csv"))
    for got, want in Array.zip fresh [| whole[0]; whole[2] |] do
        Expect.floatClose { absolute = 0.0; relative = 1e-5 } got want "the rows' outputs in the training file"

let private towns = "`harbour`, `hillcrest`, `industrial`, `old town`, `riverside`, `university`"

[<Tests>]
let tests =
    testList "Cli.Tables" [
        test "the checkpoint keeps the vocabulary, sorted" {
            let dir = run.Force()
            let ck = SafeTensors.Read(Path.Combine(dir, "run", "checkpoint.safetensors"))
            let table = Nn.Runtime.Data.TableEncoding.FromJson(ck.Metadata["table"], "checkpoint.safetensors")
            let location = table.Columns |> Seq.find (fun c -> c.Name = "location")
            Expect.equal location.Values
                [| "harbour"; "hillcrest"; "industrial"; "old town"; "riverside"; "university" |] "the six towns"
            Expect.equal table.Width 10 "4 numbers and 6 towns"
        }
        test "nn predict encodes a new file with the kept vocabulary, whatever its column order" {
            predictsNewFileAsTraining (run.Force()) "house_prices.nn"
        }
        test "nn predict with a town never seen in training is NN0575 naming the row, the value and the towns" {
            let dir = run.Force()
            File.WriteAllText(Path.Combine(dir, "bad.csv"),
                              "sqft,bedrooms,age,distance_km,location\n589,2,68,4.23,old town\n700,3,10,2,atlantis\n")
            let code, _, err = nn dir [ "predict"; "house_prices.nn"; "--weights"; "run"; "--input"; "bad.csv" ]
            Expect.equal code 1 "exit code"
            Expect.stringContains err
                ("error NN0575: bad.csv row 3, column 5 (location): `atlantis` is not a value of the categorical "
                 + "column `location` seen in training; the known values are " + towns) "message"
        }
        test "nn eval encodes another file with the kept vocabulary (two towns of six still give ten inputs)" {
            let dir = run.Force()
            let rows = File.ReadAllLines(Path.Combine(dir, "data", "houses.csv"))
            let few = rows |> Array.filter (fun l -> l.Contains ",harbour," || l.Contains ",old town,")
            File.WriteAllLines(Path.Combine(dir, "two.csv"), Array.append [| rows[0] |] few)
            let data =
                "data=csv \"two.csv\" { features = [\"sqft\"; \"bedrooms\"; \"age\"; \"distance_km\"; \"location\"]; "
                + "label = \"price_k\"; categorical = [\"location\"] }"
            let code, out, err = nn dir [ "eval"; "house_prices.nn"; "--weights"; "run"; "--set"; data ]
            Expect.equal code 0 (sprintf "eval on two towns (stderr: %s)" err)
            Expect.stringContains out (sprintf "on the validation rows (%d)" (int (round (float few.Length * 0.2))))
                "the file's validation rows"
        }
        test "several inputs: a categorical column in the second input's list is cut at its encoded width" {
            let dir = TestUtil.exampleSandbox "nn-tables-wide-" [ "data/houses.csv" ]
            File.WriteAllText(Path.Combine(dir, "wide.nn"),
                              "network wide (nums: [n, 4]) (town: [n, 6]) : [n, 1] =\n"
                              + "    concat 1 [nums |> standardize |> dense 8; town |> dense 8] |> relu |> dense 1\n\n"
                              + "train wide {\n"
                              + "    data = csv \"data/houses.csv\" { features = [[\"sqft\"; \"bedrooms\"; \"age\"; "
                              + "\"distance_km\"]; [\"location\"]]; "
                              + "label = \"price_k\"; categorical = [\"location\"] }\n"
                              + "    validation = 0.2\n    loss = mse\n    optimizer = adam { lr = 1e-2 }\n"
                              + "    epochs = 2\n}\n")
            let code, _, err = nn dir [ "train"; "wide.nn"; "--out"; "run"; "--quiet" ]
            Expect.equal code 0 (sprintf "train (stderr: %s)" err)
            predictsNewFileAsTraining dir "wide.nn"
            let code, out, err = nn dir [ "eval"; "wide.nn"; "--weights"; "run" ]
            Expect.equal code 0 (sprintf "eval (stderr: %s)" err)
            Expect.stringContains out "loss" "eval reports the loss"
        }
        test "nn summary --weights shows the vocabulary of the training table" {
            let dir = run.Force()
            let code, out, err = nn dir [ "summary"; "house_prices.nn"; "--network"; "priced"; "--weights"; "run" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out
                "location      categorical  6       harbour, hillcrest, industrial, old town, riverside, university"
                "the vocabulary line"
            Expect.stringContains out "inputs from the table: 10" "the width"
        }
    ]
