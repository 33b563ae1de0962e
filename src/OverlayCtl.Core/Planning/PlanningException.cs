namespace OverlayCtl.Core.Planning;

/// <summary>A host cannot be planned as the spec asks (no underlay interface, an operator's file that is not JSON, ...); the message says what to fix.</summary>
public sealed class PlanningException(string message) : Exception(message);
