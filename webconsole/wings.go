package webconsole

// wingRoutes are the pages of the optional wings: trusts, policies,
// webhooks, personal clients and session settings.
func (c *Console) wingRoutes() {
}
