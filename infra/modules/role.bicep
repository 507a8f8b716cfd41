// The custom role that lets ipsync read its targets and write their allow-lists, and its
// assignment to the app's identity, at subscription scope (infra/mg-role.bicep is the same
// at management-group scope).
//
// Why the subscription: discovery finds opted-in resources by an Azure tag anywhere in the
// subscription, so the app cannot know their resource groups in advance; the Service Tag
// Discovery API and the status of long-running Microsoft.Network writes are
// subscription-level endpoints (/subscriptions/{id}/providers/Microsoft.Network/locations/...).
// The actions come from main.bicep's kindActions table: only those of the enabled kinds.
targetScope = 'subscription'

@description('Object id of the Function App\'s system-assigned identity.')
param principalId string

@description('RBAC actions of the enabled kinds (main.bicep roleActions).')
param actions array

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  // Custom role names are unique per tenant: the subscription id keeps them apart. The seed
  // is the one of the first (NSG-only) role, so a redeployment updates it in place.
  name: guid(subscription().id, 'ipsync-nsg-rule-sync')
  properties: {
    roleName: 'ipsync allow-list sync (${subscription().subscriptionId})'
    description: 'Read ipsync targets and service tags; write their allow-lists (NSG rules, firewall IP rules, IP Groups). Used by ipsync.'
    type: 'CustomRole'
    assignableScopes: [
      subscription().id
    ]
    permissions: [
      {
        actions: actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, role.id)
  properties: {
    roleDefinitionId: role.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'ipsync Function App: keep allow-lists in step with service tags.'
  }
}

output roleDefinitionId string = role.id
output roleName string = role.properties.roleName
output roleAssignmentId string = assignment.id
