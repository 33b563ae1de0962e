namespace OverlayCtl.Core;

/// <summary>
/// Bad input that is not a located spec value: a TLS file that is missing or does not parse, an
/// endpoint carrying credentials, a flag given without its partner. The message names the cause and the fix.
/// </summary>
public sealed class InputException(string message, Exception? inner = null) : Exception(message, inner);
