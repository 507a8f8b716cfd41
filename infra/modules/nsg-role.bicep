// The custom role that lets ipsync read NSGs and manage their security rules, and its
// assignment to the app's identity.
//
// Scope: the subscription. Discovery lists every NSG in the subscription (opt-in is an Azure
// tag on the NSG, so the app cannot know their resource groups in advance), the Service Tag
// Discovery API and the status of long-running rule writes are subscription-level endpoints
// (/subscriptions/{id}/providers/Microsoft.Network/locations/...). What the app may change
// is still narrow: security rules only; it cannot create, delete or re-tag NSGs, attach them
// to subnets or NICs, or touch anything outside Microsoft.Network NSGs.
targetScope = 'subscription'

@description('Object id of the Function App\'s system-assigned identity.')
param principalId string

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  // Custom role names are unique per tenant: the subscription id keeps them apart.
  name: guid(subscription().id, 'ipsync-nsg-rule-sync')
  properties: {
    roleName: 'ipsync NSG rule sync (${subscription().subscriptionId})'
    description: 'Read NSGs and service tags; create, update and delete NSG security rules. Used by ipsync.'
    type: 'CustomRole'
    assignableScopes: [
      subscription().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Network/networkSecurityGroups/read'
          'Microsoft.Network/networkSecurityGroups/securityRules/read'
          'Microsoft.Network/networkSecurityGroups/securityRules/write'
          'Microsoft.Network/networkSecurityGroups/securityRules/delete'
          'Microsoft.Network/locations/serviceTags/read'
          'Microsoft.Network/locations/operations/read'
          'Microsoft.Network/locations/operationResults/read'
        ]
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
    description: 'ipsync Function App: keep NSG allow-lists in step with service tags.'
  }
}

output roleDefinitionId string = role.id
output roleName string = role.properties.roleName
output roleAssignmentId string = assignment.id
