module Nn.Tests.Compiler.CompileTests

open System.IO
open Expecto
open Nn.Dsl
open Nn.Runtime.IR
open Nn.Compiler
open Nn.Tests.TestUtil

let examples = Path.Combine(repoRoot, "examples")

/// Compile program text as if it were the file `test.nn` in the examples folder (so data paths resolve).
let internal compile (text: string) = Compile.compileText (Path.Combine(examples, "test.nn")) text

/// The rendered diagnostics of a program that must fail, with the file shown by its name only.
let errors (text: string) =
    match compile text with
    | Ok _ -> failtest "expected the program to be rejected"
    | Error ds ->
        ds
        |> List.map (fun d ->
            let d = { d with Span = d.Span.WithFile(Path.GetFileName d.Span.File) }
            Diagnostic.render (fun f -> if f = "test.nn" then Some text else None) d)
        |> String.concat "\n"

let internal networkOf (text: string) name =
    match compile text with
    | Ok c -> c.Networks |> List.find (fun n -> n.Decl.Name = name)
    | Error ds -> failtestf "did not compile: %A" (ds |> List.map (fun d -> d.Message))

let internal paramNames (net: Compile.NetworkInfo) =
    let fwd = Compile.forward net (GraphBuilder()) true
    fwd.Context.Builder.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> Seq.map (fun n -> n.Name) |> List.ofSeq

[<Tests>]
let tests =
    testList "Compiler.Compile" [
        for file in Directory.GetFiles(examples, "*.nn") do
            test (sprintf "example %s compiles" (Path.GetFileName file)) {
                match Compile.compileFile file with
                | Ok c -> Expect.isNonEmpty c.Networks "has networks"
                | Error ds ->
                    failtestf
                        "%s"
                        (ds
                         |> List.map (Diagnostic.render (fun f -> Some(File.ReadAllText f)))
                         |> String.concat "\n")
            }

        test "parameter paths follow the call chain" {
            let net = networkOf (File.ReadAllText(Path.Combine(examples, "mnist_mlp.nn"))) "mlp"
            Expect.equal (paramNames net)
                [ "tower1.dense1.w"; "tower1.dense1.b"; "tower1.dense2.w"; "tower1.dense2.b"; "dense1.w"; "dense1.b" ]
                "mlp parameters"
        }

        test "residual blocks get one scope per call" {
            let net = networkOf (File.ReadAllText(Path.Combine(examples, "residual.nn"))) "deep"
            let names = paramNames net
            Expect.contains names "repeat1.residual8.dense1.w" "eighth block"
            Expect.contains names "repeat1.residual1.batchNorm1.gain" "batch norm gain"
            Expect.isFalse (names |> List.exists (fun n -> n.StartsWith "repeat1.residual9")) "eight blocks"
            Expect.equal (List.last names) "dense2.b" "last layer"
            let sigmoid =
                paramNames (networkOf (File.ReadAllText(Path.Combine(examples, "residual.nn"))) "deep_sigmoid")
            Expect.equal sigmoid
                ([ for k in 1..8 do yield! [ sprintf "repeat1.dense%d.w" k; sprintf "repeat1.dense%d.b" k ] ]
                 @ [ "dense1.w"; "dense1.b" ])
                "deep_sigmoid: one scope for the repeat, one per dense inside it"
        }

        test "network output shapes" {
            let net = networkOf (File.ReadAllText(Path.Combine(examples, "lenet.nn"))) "lenet"
            let fwd = Compile.forward net (GraphBuilder()) false
            Expect.equal (string fwd.Output.Shape) "[n, 10]" "lenet output"
        }

        test "dimension variables bind to the argument's sizes" {
            let net =
                networkOf
                    ("let f (x: [n, k]) =\n    param w : [k, 3] = glorot\n    x @ w\n\n"
                     + "network t (x: [n, 5]) : [n, 3] =\n    f x\n")
                    "t"
            let fwd = Compile.forward net (GraphBuilder()) true
            let w = fwd.Context.Builder.Nodes |> Seq.find (fun n -> n.Op = OpKind.Param)
            Expect.equal (string w.Shape) "[5, 3]" "k = 5"
        }

        test "static arithmetic and lists are evaluated by the compiler" {
            let net =
                networkOf
                    ("let sizes = List.map (fun s -> s * 2) [2; 3]\n\n"
                     + "network t (x: [n, 4]) : [n, 6] =\n    x |> dense (List.sum sizes - 4)\n")
                    "t"
            let fwd = Compile.forward net (GraphBuilder()) true
            Expect.equal (string fwd.Output.Shape) "[n, 6]" "10 - 4"
        }
    ]
