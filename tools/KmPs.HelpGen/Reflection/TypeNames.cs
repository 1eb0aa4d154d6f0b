namespace KmPs.HelpGen.Reflection;

/// <summary>Type names as help shows them: "String[]" in syntax, "System.String[]" as the full type.</summary>
public static class TypeNames
{
    public static string Short(Type type) => Format(type, full: false);

    public static string Full(Type type) => Format(type, full: true);

    private static string Format(Type type, bool full)
    {
        if (type.IsArray) return Format(type.GetElementType()!, full) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        if (type.IsByRef || type.IsPointer) return Format(type.GetElementType()!, full);
        var name = full && type.FullName is not null ? StripArity(type.FullName.Split('[')[0]).Replace('+', '.') : StripArity(type.Name);
        if (!type.IsGenericType) return name;
        return name + "[" + string.Join(", ", type.GetGenericArguments().Select(a => Format(a, full))) + "]";
    }

    private static string StripArity(string name)
    {
        var tick = name.IndexOf('`');
        return tick < 0 ? name : name[..tick];
    }
}
