module Nn.Tests.Dsl.RobustnessTests

open System.Diagnostics
open Expecto
open Nn.Dsl
open Nn.Tests.Generators.DslSamples

[<Tests>]
let tests =
    testList "Dsl.Robustness" [
        test "10,000 nested brackets give a diagnostic, not a stack overflow" {
            for (o, c) in [ "(", ")"; "[", "]"; "{ a = ", " }" ] do
                let text = "let x = " + String.replicate 10000 o + "1" + String.replicate 10000 c
                match Parser.parseProgram "deep.nn" text with
                | Result.Error ds -> Expect.equal (List.head ds).Code "NN0107" o
                | Result.Ok _ -> failtest "expected NN0107"
        }
        test "on a thread whose stack is declared deep (8 MB), the deepest nesting parses on it as on its own thread" {
            let deepest =
                [ "let x = " + String.replicate 499 "(" + "1" + String.replicate 499 ")"
                  "let x = " + String.replicate 499 "f(" + "1" + String.replicate 499 ")"
                  "let x = " + String.replicate 499 "- " + "1"
                  "let x = " + String.replicate 10000 "[" + "1" + String.replicate 10000 "]" ]
            let show (r: Result<Program, Diagnostic list>) =
                match r with
                | Result.Ok p -> sprintf "%A" p.Decls
                | Result.Error ds -> ds |> List.map (fun d -> d.Code + " " + d.Message) |> String.concat "; "
            let own = deepest |> List.map (Parser.parseProgram "deep.nn" >> show)
            let mutable onCaller = []
            let mutable sawDeep = false
            let t =
                System.Threading.Thread(
                    (fun () ->
                        Parser.ParserStack.Deep <- true
                        onCaller <- deepest |> List.map (Parser.parseProgram "deep.nn" >> show)
                        sawDeep <- Parser.ParserStack.Deep),
                    8 * 1024 * 1024
                )
            t.Start()
            t.Join()
            Expect.isTrue sawDeep "set on that thread"
            Expect.isFalse Parser.ParserStack.Deep "not on this one"
            Expect.equal onCaller own "the same programs and diagnostics"
            Expect.stringContains (List.last own) "NN0107" "the too-deep file"
        }
        test "10,000 prefix operators give a diagnostic" {
            match Parser.parseExpr "deep.nn" (String.replicate 10000 "- " + "x") with
            | Result.Error ds -> Expect.equal (List.head ds).Code "NN0107" "code"
            | Result.Ok _ -> failtest "expected NN0107"
        }
        test "a 10,000-line file parses fast" {
            let text =
                String.concat "\n" [
                    for i in 1 .. 2500 ->
                        sprintf "/// f%d\nlet f%d x =\n    let y = x * %d.5 + 1\n    y |> relu |> dense 3\n" i i i
                ]
            let sw = Stopwatch.StartNew()
            let p = parseOk text
            Expect.equal p.Decls.Length 2500 "declarations"
            Expect.isLessThan sw.Elapsed.TotalSeconds 5.0 "seconds"
        }
        test "a 1 MB line parses" {
            let text = "let x = [" + String.replicate 200000 "1; " + "1]"
            match (parseOk text).Decls with
            | [ LetDecl { Body = List(items, _) } ] -> Expect.equal items.Length 200001 "items"
            | _ -> failtest "shape"
        }
        test "a 1 MB comment and a 1 MB string parse" {
            let p =
                parseOk ("// " + String.replicate 1000000 "x" + "\nlet s = \"" + String.replicate 1000000 "y" + "\"")
            Expect.equal p.Decls.Length 1 "one decl"
        }
    ]
