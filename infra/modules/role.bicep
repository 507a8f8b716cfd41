// A custom role of ipsync and its assignment to the app's identity, at subscription scope
// (infra/mg-role.bicep is the same at management-group scope).
//
// The allow-list role: the actions of main.bicep's kindActions table for the enabled kinds.
// By default it is assignable and assigned at the subscription: discovery finds opted-in
// resources by an Azure tag anywhere in it, so the app cannot know their resource groups in
// advance. With roleScope resourceGroups it is assignable at the listed groups only, and
// main.bicep assigns it there (modules/role-assignment.bicep); the actions that name no
// resource (the status of long-running Microsoft.Network writes, the Service Tag Discovery
// API, Resource Graph), subscription-level endpoints under /subscriptions/{id}/providers/...,
// then go into a second role of this module, assigned at the subscription.
targetScope = 'subscription'

@description('Object id of the Function App\'s system-assigned identity.')
param principalId string

@description('RBAC actions of the role (main.bicep roleActions, or a part of them).')
param actions array

@description('What the role is for: its name reads "ipsync <purpose> (<subscription id>)".')
param purpose string = 'allow-list sync'

@description('What the role allows, in a sentence.')
param roleDescription string = 'Read ipsync targets and service tags; write their allow-lists (NSG rules, firewall IP rules, IP Groups). Used by ipsync.'

@description('Where the role may be assigned: this subscription, or resource groups in it.')
param assignableScopes array = [subscription().id]

@description('Assign the role at the subscription; false: main.bicep assigns it at each group.')
param assignHere bool = true

// Custom role names are unique per tenant: the subscription id keeps them apart. The
// allow-list role keeps the seed of the first (NSG-only) role, so a redeployment updates it
// in place.
var seed = purpose == 'allow-list sync' ? 'ipsync-nsg-rule-sync' : 'ipsync-${replace(purpose, ' ', '-')}'

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, seed)
  properties: {
    roleName: 'ipsync ${purpose} (${subscription().subscriptionId})'
    description: roleDescription
    type: 'CustomRole'
    assignableScopes: assignableScopes
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

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (assignHere) {
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
output roleAssignmentId string = assignHere ? assignment.id : ''
