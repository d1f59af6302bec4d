// THE place where `init` will generate each agent's own key pair (agent-signed answers): not built yet.

/**
 * Extra fields for one agent's config and for its side of the Worker's pair config, once agents sign
 * their answers (agent config `agentKeyFile`, Worker pair `primary.agentPublicKey` /
 * `standby.agentPublicKey`). Today it returns nothing: the schemas on this branch have no such fields.
 * When they land, generate the pair here (protocol/keys.ts `generateKeyPair`), write the private half
 * with `writePrivateKeyFile` (0600) beside the agent config, and return the two fields.
 */
export async function agentKeyFields(
	_pair: string,
	_role: "primary" | "standby",
): Promise<{ agent: Record<string, unknown>; worker: Record<string, unknown> }> {
	return { agent: {}, worker: {} };
}
