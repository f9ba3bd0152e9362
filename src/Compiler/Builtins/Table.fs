/// The initial environment: every built-in, initializer name and setting symbol.
module internal Nn.Compiler.Builtins.Table

open Nn.Dsl
open Nn.Runtime.IR
open Nn.Compiler

let private builtinSpan = Span.make "<builtin>" (0, 0) (0, 0)

let private initNames = [ "zeros"; "ones"; "glorot"; "he"; "lecun"; "orthogonal" ]

/// Built-ins usable in network bodies and functions.
let networkEnv: Env =
    let fns = Elementwise.all @ Layers.all @ Lists.all @ Sequences.all @ Windows.all
    let env = fns |> List.fold (fun (env: Env) b -> env.Add(b.Name, (VBuiltin(b, []), builtinSpan))) Map.empty
    let env = initNames |> List.fold (fun (env: Env) n -> env.Add(n, (VInit(InitSpec(n)), builtinSpan))) env
    env.Add("same", (VSymbol "same", builtinSpan)).Add("valid", (VSymbol "valid", builtinSpan))

/// Built-ins usable in `train` blocks (on top of the network environment). A function of the program named like a
/// built-in loss (`let mse p t = ...`) keeps its name: `loss = mse` is then the program's function.
let trainEnv (env: Env) : Env =
    let programs name =
        match env.TryFind name with
        | Some(VClosure _, _) when Seq.contains name Nn.Runtime.Ops.LossKind.Names -> true
        | Some _ -> Config.yieldToProgram.Contains name
        | None -> false
    let add name value (env: Env) = if programs name then env else env.Add(name, (value, builtinSpan))
    let env = Config.all |> List.fold (fun (env: Env) b -> add b.Name (VBuiltin(b, [])) env) env
    Config.symbols |> List.fold (fun (env: Env) s -> add s (VSymbol s) env) env

/// Every name the language defines, for "did you mean" suggestions.
let allNames = (trainEnv networkEnv) |> Map.toSeq |> Seq.map fst |> List.ofSeq
