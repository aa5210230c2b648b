import CorralRuntime

/// One change the executor tells its subscribers (the cluster membership): a
/// workload's new state, the executor's own cluster state, or its metadata.
public enum ExecutorChange: Sendable {
    case workload(InstanceInfo)
    case clusterState(ExecutorNodeData.State)
    /// The published metadata changed (`resources.metadata`' providers).
    case metadata
}
