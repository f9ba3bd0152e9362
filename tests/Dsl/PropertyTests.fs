module Nn.Tests.Dsl.PropertyTests

open System
open System.Threading.Tasks
open Expecto
open Nn.Dsl
open Nn.Tests.Generators
open Nn.Tests.Generators.DslSamples

let private config = { FsCheckConfig.defaultConfig with arbitrary = [ typeof<Arbitraries> ]; maxTest = 300 }

/// The parser must answer (a program or at least one diagnostic) quickly and never throw.
let private answers (text: string) =
    let t = Task.Run(fun () -> Parser.parseProgram "fuzz.nn" text)
    if not (t.Wait(TimeSpan.FromSeconds 10.0)) then failtestf "no answer within 10 s for:\n%s" text
    match t.Result with
    | Result.Ok p -> not p.Decls.IsEmpty
    | Result.Error ds -> not ds.IsEmpty

let private exampleTexts = examples |> List.map snd |> Array.ofList

/// Delete, insert or swap characters of an example program.
let private mutate (seed: int) =
    let rnd = Random(seed)
    let text = exampleTexts[rnd.Next exampleTexts.Length]
    let sb = Text.StringBuilder(text)
    for _ in 1 .. 1 + rnd.Next 4 do
        let i = rnd.Next(max 1 sb.Length)
        match rnd.Next 3 with
        | 0 when sb.Length > 0 -> sb.Remove(i, 1) |> ignore
        | 1 ->
            let alphabet = "()[]{};,.|>=-*\"\\\t\n (*x\u0000é0"
            sb.Insert(i, alphabet[rnd.Next alphabet.Length]) |> ignore
        | _ when sb.Length > 1 ->
            let j = rnd.Next sb.Length
            let c = sb[i]
            sb[i] <- sb[j]
            sb[j] <- c
        | _ -> ()
    sb.ToString()

[<Tests>]
let tests =
    testList "Dsl.Properties" [
        testPropertyWithConfig config "a printed program parses back to the same AST" (fun (WellFormedProgram p) ->
            let text = Printer.formatProgram p
            match Parser.parseProgram "gen.nn" text with
            | Result.Ok q -> (q.Decls = p.Decls) || failtestf "round trip changed:\n%s" text
            | Result.Error ds -> failtestf "%s" (text + "\n" + render text ds))
        testPropertyWithConfig config "a printed expression parses back to the same AST" (fun (WellFormedExpr e) ->
            let text = Printer.formatExpr e
            match Parser.parseExpr "gen.nn" text with
            | Result.Ok q -> (q = e) || failtestf "round trip changed:\n%s" text
            | Result.Error ds -> failtestf "%s" (text + "\n" + render text ds))
        testPropertyWithConfig config "formatting is idempotent" (fun (WellFormedProgram p) ->
            let once = Printer.formatProgram p
            match Printer.formatSource "gen.nn" once with
            | Result.Ok twice -> (twice = once) || failtestf "round trip changed:\n%s" once
            | Result.Error ds -> failtestf "%s" (once + "\n" + render once ds))
        testPropertyWithConfig config "random text never throws" (fun (s: string) ->
            answers (if isNull s then "" else s))
        testPropertyWithConfig config "random bytes decoded as text never throw" (fun (bytes: byte[]) ->
            answers (Text.Encoding.UTF8.GetString(if isNull bytes then [||] else bytes)))
        testPropertyWithConfig config "mutated examples never throw" (fun (seed: int) -> answers (mutate seed))
    ]
