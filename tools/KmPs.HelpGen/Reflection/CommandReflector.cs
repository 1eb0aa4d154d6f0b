using System.Management.Automation;
using System.Reflection;

namespace KmPs.HelpGen.Reflection;

/// <summary>
/// Reads cmdlets the way PowerShell's parameter binder sees them: [Cmdlet], [Parameter] (one per
/// set), [Alias], [ValidateSet], [OutputType], DefaultParameterSetName and SupportsShouldProcess.
/// Dynamic parameters cannot be reflected and are not documented; [Parameter(DontShow = true)]
/// parameters are left out, as PowerShell leaves them out of its syntax.
/// </summary>
public static class CommandReflector
{
    public const string AllParameterSets = ParameterAttribute.AllParameterSets;

    /// <summary>Every public, non-abstract Cmdlet type with a [Cmdlet] attribute, by name.</summary>
    public static IReadOnlyList<Type> FindCmdletTypes(Assembly assembly)
    {
        Type[] types;
        try { types = assembly.GetExportedTypes(); }
        catch (ReflectionTypeLoadException e)
        {
            var why = string.Join("; ", e.LoaderExceptions.Where(x => x is not null).Select(x => x!.Message).Distinct());
            throw new InvalidOperationException($"cannot load the types of {assembly.GetName().Name}: {why}", e);
        }
        return types
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(Cmdlet).IsAssignableFrom(t) && t.GetCustomAttribute<CmdletAttribute>() is not null)
            .OrderBy(t => t.GetCustomAttribute<CmdletAttribute>()!.NounName, StringComparer.OrdinalIgnoreCase)
            .ThenBy(t => t.GetCustomAttribute<CmdletAttribute>()!.VerbName, StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    public static CommandModel Reflect(Type cmdletType)
    {
        var cmdlet = cmdletType.GetCustomAttribute<CmdletAttribute>()
                     ?? throw new ArgumentException($"{cmdletType.FullName} has no [Cmdlet] attribute", nameof(cmdletType));

        var members = ParameterMembers(cmdletType)
            .Select(m => (Member: m, Attributes: m.GetCustomAttributes<ParameterAttribute>().ToList()))
            .Where(x => x.Attributes.Count > 0 && !x.Attributes.Any(a => a.DontShow))
            .ToList();

        var setNames = new List<string>();
        if (!string.IsNullOrEmpty(cmdlet.DefaultParameterSetName)) setNames.Add(cmdlet.DefaultParameterSetName);
        foreach (var a in members.SelectMany(x => x.Attributes))
            if (a.ParameterSetName != AllParameterSets && !setNames.Contains(a.ParameterSetName)) setNames.Add(a.ParameterSetName);
        if (setNames.Count == 0) setNames.Add(AllParameterSets);

        var ordered = new List<ParameterModel>();
        foreach (var (member, attributes) in members)
        {
            var type = member is PropertyInfo p ? p.PropertyType : ((FieldInfo)member).FieldType;
            ordered.Add(new ParameterModel
            {
                Name = member.Name,
                Type = type,
                Aliases = member.GetCustomAttributes<AliasAttribute>().SelectMany(a => a.AliasNames).ToList(),
                // A parameter's summary (required, position) is read from its first binding: the default set's first.
                Bindings = attributes
                    .Select(a => new ParameterBinding(a.ParameterSetName, a.Mandatory,
                        a.Position == int.MinValue ? null : a.Position, a.ValueFromPipeline, a.ValueFromPipelineByPropertyName))
                    .OrderBy(b => b.SetName == AllParameterSets ? 0 : setNames.IndexOf(b.SetName) + 1)
                    .ToList(),
                AcceptedValues = AcceptedValues(member, type),
            });
        }

        if (cmdlet.SupportsShouldProcess)
        {
            ordered.Add(ShouldProcessParameter("WhatIf", "wi"));
            ordered.Add(ShouldProcessParameter("Confirm", "cf"));
        }

        var syntax = setNames.Select(set => Syntax(set, set == setNames[0], ordered)).ToList();
        var outputs = cmdletType.GetCustomAttributes<OutputTypeAttribute>()
            .SelectMany(a => a.Type).Select(t => t.Type is null ? t.Name : TypeNames.Full(t.Type)).Distinct().ToList();

        return new CommandModel
        {
            ImplementingType = cmdletType,
            Verb = cmdlet.VerbName,
            Noun = cmdlet.NounName,
            SupportsShouldProcess = cmdlet.SupportsShouldProcess,
            Parameters = ordered,
            Syntax = syntax,
            OutputTypes = outputs,
        };
    }

    /// <summary>Public instance properties and fields, the declaring class's first, in declaration order.</summary>
    private static IEnumerable<MemberInfo> ParameterMembers(Type type)
    {
        var chain = new List<Type>();
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType) chain.Add(t);
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var t in chain)
            foreach (var m in t.GetMembers(flags).Where(m => m is PropertyInfo or FieldInfo).OrderBy(m => m.MetadataToken))
                if (seen.Add(m.Name)) yield return m;
    }

    private static IReadOnlyList<string>? AcceptedValues(MemberInfo member, Type type)
    {
        if (member.GetCustomAttribute<ValidateSetAttribute>() is { } set) return set.ValidValues.ToList();
        var element = type.IsArray ? type.GetElementType()! : type;
        element = Nullable.GetUnderlyingType(element) ?? element;
        return element.IsEnum ? Enum.GetNames(element) : null;
    }

    private static ParameterModel ShouldProcessParameter(string name, string alias) => new()
    {
        Name = name,
        Type = typeof(SwitchParameter),
        Aliases = new[] { alias },
        Bindings = new[] { new ParameterBinding(AllParameterSets, false, null, false, false) },
        IsShouldProcessParameter = true,
    };

    /// <summary>PowerShell's display order: positional by position, then mandatory named, then the rest.</summary>
    private static SyntaxModel Syntax(string set, bool isDefault, List<ParameterModel> parameters)
    {
        var inSet = new List<(ParameterModel, ParameterBinding)>();
        foreach (var p in parameters)
        {
            var binding = p.Bindings.FirstOrDefault(b => b.SetName == set) ?? p.Bindings.FirstOrDefault(b => b.SetName == AllParameterSets);
            if (binding is not null) inSet.Add((p, binding));
        }
        var ordered = inSet.Where(x => x.Item2.Position is not null).OrderBy(x => x.Item2.Position)
            .Concat(inSet.Where(x => x.Item2.Position is null && x.Item2.Mandatory))
            .Concat(inSet.Where(x => x.Item2.Position is null && !x.Item2.Mandatory && !x.Item1.IsShouldProcessParameter))
            .Concat(inSet.Where(x => x.Item1.IsShouldProcessParameter))
            .ToList();
        return new SyntaxModel(set, isDefault, ordered);
    }
}
